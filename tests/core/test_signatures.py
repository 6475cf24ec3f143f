"""OneTouch callback and webhooks-API signatures, checked against every real signature we have.

Vector sources (test DATA transcribed verbatim; no code taken):
* ``seegno/authy-client`` ``test/client_test.js``, "should verify the signature of a POST request";
* ``twilio/authy-java`` ``src/test/java/com/authy/TestAuthyUtil.java`` (six tests: three POST bodies,
  three GET query strings; key ``FU10H0…``, URL ``https://requestb.in/ui9vdiui``);
* ``twilio/authy-java`` at commit ``1a5b312c``: ``src/test/resources/com/authy/api/test.properties``
  (POST body, nonce, signature, URL) with the key hard-coded in that commit's ``TestAuthyUtil.java``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import unquote_plus

import pytest
from authy.api.resources import OneTouch
from hypothesis import given
from hypothesis import strategies as st

from twostep.core.signatures import (
    callback_signing_string,
    get_callback_query,
    sign_api_request,
    sign_callback,
    sorted_params_query,
    to_query,
    verify_api_request,
)

# --- seegno/authy-client ------------------------------------------------------------------------

AC_KEY = "1DS9YIwGquvvIdx8GdcdqZGLAewZZyhd"
AC_NONCE = "1455825429"
AC_URL = "https://foo.bar/"
AC_SIGNATURE = "hqB6las54sMBA83GKs0U1QQi9ocJ2tH20SXHZNzfqqQ="
AC_BODY: dict[str, Any] = {
    "approval_request": {
        "expiration_timestamp": 1455911778,
        "logos": None,
        "transaction": {
            "created_at_time": 1455825378,
            "customer_uuid": "2ccf0040-ed25-0132-5987-0e67b818e6fb",
            "details": {},
            "device_details": None,
            "device_geolocation": None,
            "device_signing_time": 0,
            "encrypted": False,
            "flagged": False,
            "hidden_details": {},
            "message": ".",
            "reason": None,
            "requester_details": None,
            "status": "approved",
            "uuid": "996201c0-b7a7-0133-7c06-0e67b818e6fb",
        },
    },
    "authy_id": 1234567,
    "callback_action": "approval_request_status",
    "device_uuid": "4d89c320-a9bb-0133-7c02-0e67b818e6fb",
    "signature": (
        "BObhJgZwgU7O9r4Uo9VT6j6shAOe7y/IRGpW/N0Uq34/XHZU9E+aHOI5rcQzW1ZgNCECzVrqrsnjhYEK4Zq1naKWu0YN"
        "kuvILmMz8IxJEQH+c+6x186fjIjxvP4nu4p/pfUDomo/za24s1XOjtNlVsrDTDXClHUh5MjFQbyBjhFd8gOtmGVatN7K"
        "2Lx71I8YR2JDLbRX4DlJEMu++PLBn1nqQH9tbNYzX5jjX87CXPBtDfRwfWSs/imnfZ9zkDq4ZKuBcuwzQNsxKlby6782"
        "X0o78rYhCHrcDnHgRtyMGvX9ovK3XTt6M7p6i9SKaRgBWIOFVPygxv15iJesqt9cng=="
    ),
    "status": "approved",
    "uuid": "996221c0-b7a7-0133-7c06-0e67b818e6fb",
}

# --- twilio/authy-java TestAuthyUtil.java -------------------------------------------------------

JAVA_KEY = "FU10H0uCafgKnXvPfDm5iAisVuHDgXJA"
JAVA_URL = "https://requestb.in/ui9vdiui"

# (test name, nonce, expected signature, JSON body exactly as in the Java string literal)
JAVA_POST = [
    (
        "testValidSignatureApprovedPost",
        "1512923419",
        "6uKAaKxCkkFEyQujwdudyPNUgRi2fY5otoCOQN7VjCw=",
        '{"authy_id":688611,"device_uuid":2102943,"callback_action":"approval_request_status","uuid":"4a725520-bff5-0135-eb01-0e5d90336a8c","status":"approved","approval_request":{"transaction":{"details":null,"device_details":{},"device_geolocation":"","device_signing_time":1512923419,"encrypted":false,"flagged":false,"hidden_details":null,"message":"Authorize OneTouch Unit Test","reason":"","requester_details":null,"status":"approved","uuid":"4a725520-bff5-0135-eb01-0e5d90336a8c","created_at_time":1512923400,"customer_uuid":15083},"expiration_timestamp":1513009800,"logos":null,"app_id":"582380eb7e1caa03317ec08c"},"signature":"pQmypvnmoIb7qIHrKcd3nwPArh8Ecr8L87XTYqqAfagDkXhOD7CulSdDkE0ImFBzigwc+vxwZsgxBnhFmU2c9kYuvMJiPLeS8NCpRucg7eHeGPM0jQbKveqzFcZ9L6P1kRHjSYwS7dLqEINBffNckK7O9LHz13XYklxXvYUwvemtj+yEemyCJbmlJbCSlUTyajr3WSRPMYZV7xXTNtWp2XvcRSclP8izgA1cV/cw7ctDYIPG6wUXJGSIs/kg3hTDeN1Z3YBq1fnMkfxeb5g9bRveRlCjXpQ6xFh1wQEUbbtJpf+uRgxddbQwxfda9gIb5osOEhKRv5HoJ03yOvKiBQ==","device":{"city":null,"country":"Colombia","ip":"190.130.65.251","region":null,"registration_city":null,"registration_country":"Colombia","registration_ip":"190.130.66.242","registration_method":"sms","registration_region":null,"os_type":"android","last_account_recovery_at":null,"id":2102943,"registration_date":1505418165,"last_sync_date":1505418173}}',  # noqa: E501
    ),
    (
        "testValidSignatureDeniedWithDetailsPost",
        "1512940231",
        "HFc5mICOVRrEmpmBoIuubKWcN0YYd50TaO7YQJFrnlM=",
        '{"authy_id":688611,"device_uuid":2102943,"callback_action":"approval_request_status","uuid":"6edb8f40-c01c-0135-c648-0e00ace7f69c","status":"denied","approval_request":{"transaction":{"details":{"username":"User","location":"California,USA","cosa1":"cosa1","cosa2":"cosa2"},"device_details":{},"device_geolocation":"","device_signing_time":1512940232,"encrypted":false,"flagged":false,"hidden_details":{"ip_address":"10.10.3.203"},"message":"Authorize OneTouch Unit Test","reason":"","requester_details":null,"status":"denied","uuid":"6edb8f40-c01c-0135-c648-0e00ace7f69c","created_at_time":1512940211,"customer_uuid":15083},"expiration_timestamp":1513026611,"logos":null,"app_id":"582380eb7e1caa03317ec08c"},"signature":"jTLeK9tHUAhJRexjBIq3DVowPRKE+8578YzJD5yizXqYqmeQT7t8NS1uFfbmjHKabgIvC0N/WEFfyvKWjARrNVR6FJ5EjbOZJy7ouQT+9iTaorsJDVPUPeVnQUUTi3noXcSonGN0+YW7foHf8zMnTTyQBbjurexv2dkfu0fLdiF8I6xRhMeq5sf5APdZCt7NsFIM95N0wO6MHoD5sLL8yFrB1C/RB35n6BIxgTWz0TjtbcO+V/rqjgMK47xTITPsbEo46ammhRl4vU5flcM2O6KE6Q7tKLCftAzs/3xu13w1KKkFXmCqXpeB29lSNU2wveGI7nB2eIk41medDJ81Dg==","device":{"city":null,"country":"Colombia","ip":"190.130.65.251","region":null,"registration_city":null,"registration_country":"Colombia","registration_ip":"190.130.66.242","registration_method":"sms","registration_region":null,"os_type":"android","last_account_recovery_at":null,"id":2102943,"registration_date":1505418165,"last_sync_date":1505418173}}',  # noqa: E501
    ),
    (
        "testValidSignatureApprovedWithDetailsAndLogosPost",
        "1512940917",
        "IFD2P2f5w2Jis1uref9Blu7a0liztOsnso16Gh6y054=",
        '{"authy_id":688611,"device_uuid":2102943,"callback_action":"approval_request_status","uuid":"098c3580-c01e-0135-eb00-0e5d90336a8c","status":"approved","approval_request":{"transaction":{"details":{"username":"User","location":"California,USA","cosa1":"cosa1","cosa2":"cosa2"},"device_details":{},"device_geolocation":"","device_signing_time":1512940918,"encrypted":false,"flagged":false,"hidden_details":{"ip_address":"10.10.3.203"},"message":"Authorize OneTouch Unit Test","reason":"","requester_details":null,"status":"approved","uuid":"098c3580-c01e-0135-eb00-0e5d90336a8c","created_at_time":1512940900,"customer_uuid":15083},"expiration_timestamp":1513027300,"logos":[{"res":"default","url":"https://www.itsalllost.com/wp-content/uploads/2017/04/twilio-logo-red.png"},{"res":"med","url":"https://www.itsalllost.com/wp-content/uploads/2017/04/twilio-logo-red.png"}],"app_id":"582380eb7e1caa03317ec08c"},"signature":"qOLMuHVy4KITm2nSd1PxJCv+ydjcduKwxz2Fc7pMrDm7QtU2hMAnY5AUxdwlae5WJmEWNM8OctdGhMJweTwICkkOgYm2v+u7k/wz5zuPozDDnMqJWBjiCfbKNpKqf8CQ2dBndtxi2Sl7/y57KiXYJfTlGHNBhCoTxVzVBNDEPu6OLV6KA60mcEW87tg1b4Q/p69ZkYb5B1f9Ujk/ueCbCK6JDhtUf1v3/baNgO8o/mp2EydiFughqpiHIIOR0VY9/o/hh5a7z6FG4OxZ3WmS7q2506Wy698LW3ZRNl0aXwtFIat4IyCSSuDQFW9LZEcXdQK4YixSJ8b5H8vlRErSPQ==","device":{"city":null,"country":"Colombia","ip":"190.130.65.251","region":null,"registration_city":null,"registration_country":"Colombia","registration_ip":"190.130.66.242","registration_method":"sms","registration_region":null,"os_type":"android","last_account_recovery_at":null,"id":2102943,"registration_date":1505418165,"last_sync_date":1505418173}}',  # noqa: E501
    ),
]

# (test name, nonce, expected signature, callback query string exactly as in the Java test)
JAVA_GET = [
    (
        "testValidSignatureApprovedGet",
        "1512937258",
        "W0YumwSPoL+2CX1q4XoUSY5gOmWmnrkXUmlm7NE6iGY=",
        "approval_request%5Bapp_id%5D=582380eb7e1caa03317ec08c&approval_request%5Bexpiration_timestamp%5D=1513023630&approval_request%5Blogos%5D=&approval_request%5Btransaction%5D%5Bcreated_at_time%5D=1512937230&approval_request%5Btransaction%5D%5Bcustomer_uuid%5D=15083&approval_request%5Btransaction%5D%5Bdetails%5D=&approval_request%5Btransaction%5D%5Bdevice_geolocation%5D=&approval_request%5Btransaction%5D%5Bdevice_signing_time%5D=1512937257&approval_request%5Btransaction%5D%5Bencrypted%5D=false&approval_request%5Btransaction%5D%5Bflagged%5D=false&approval_request%5Btransaction%5D%5Bhidden_details%5D=&approval_request%5Btransaction%5D%5Bmessage%5D=Authorize+OneTouch+Unit+Test&approval_request%5Btransaction%5D%5Breason%5D=&approval_request%5Btransaction%5D%5Brequester_details%5D=&approval_request%5Btransaction%5D%5Bstatus%5D=approved&approval_request%5Btransaction%5D%5Buuid%5D=7e272da0-c015-0135-eafc-0e5d90336a8c&authy_id=688611&callback_action=approval_request_status&device%5Bcity%5D=&device%5Bcountry%5D=Colombia&device%5Bid%5D=2102943&device%5Bip%5D=190.130.65.251&device%5Blast_account_recovery_at%5D=&device%5Blast_sync_date%5D=1505418173&device%5Bos_type%5D=android&device%5Bregion%5D=&device%5Bregistration_city%5D=&device%5Bregistration_country%5D=Colombia&device%5Bregistration_date%5D=1505418165&device%5Bregistration_ip%5D=190.130.66.242&device%5Bregistration_method%5D=sms&device%5Bregistration_region%5D=&device_uuid=2102943&signature=YnZe2qSWEAYAROAhykwbeIOV2Ym%2Fg4y9rlIQc6ePtvTt9UDDotl7p2H%2FpC3EFNG5XsDaMkJuZmXSd0UW%2FtiuR2l%2BJ%2Fvta5yXVArq6d1uNspB1u%2BWYjumDhTLFQI0Ox6BGQMhTlWkQK96dh0bJQqyPP7I5f4xQZMmNIClCKZa%2BzUqmPA7zo1Qokz9w0u917zKt%2BsLLxLLXblhdYvFIvfVqGAtiBQzbUh9UCCuOp6jcF7HkZiGs2nFIAlwVFffhK%2BxXnEXvG9yA3KnMRX6Y31yxWd3ApRoDNbLpCOSgFlkYAasQ8hBkcSy3AyyfT4TMhyeemI3IW6GFTADrXXO%2BzvpcA%3D%3D&status=approved&uuid=7e272da0-c015-0135-eafc-0e5d90336a8c",
    ),
    (
        "testValidSignatureApprovedWithDetailsGet",
        "1512942246",
        "oCSbVsRS7uwKH1bRAnyem3pz9rTBSMpcEaS6W33DqmM=",
        "approval_request%5Bapp_id%5D=582380eb7e1caa03317ec08c&approval_request%5Bexpiration_timestamp%5D=1513028630&approval_request%5Blogos%5D=&approval_request%5Btransaction%5D%5Bcreated_at_time%5D=1512942230&approval_request%5Btransaction%5D%5Bcustomer_uuid%5D=15083&approval_request%5Btransaction%5D%5Bdetails%5D%5Bcosa1%5D=cosa1&approval_request%5Btransaction%5D%5Bdetails%5D%5Bcosa2%5D=cosa2&approval_request%5Btransaction%5D%5Bdetails%5D%5Blocation%5D=California%2CUSA&approval_request%5Btransaction%5D%5Bdetails%5D%5Busername%5D=User&approval_request%5Btransaction%5D%5Bdevice_geolocation%5D=&approval_request%5Btransaction%5D%5Bdevice_signing_time%5D=1512942247&approval_request%5Btransaction%5D%5Bencrypted%5D=false&approval_request%5Btransaction%5D%5Bflagged%5D=false&approval_request%5Btransaction%5D%5Bhidden_details%5D%5Bip_address%5D=10.10.3.203&approval_request%5Btransaction%5D%5Bmessage%5D=Authorize+OneTouch+Unit+Test&approval_request%5Btransaction%5D%5Breason%5D=&approval_request%5Btransaction%5D%5Brequester_details%5D=&approval_request%5Btransaction%5D%5Bstatus%5D=approved&approval_request%5Btransaction%5D%5Buuid%5D=224fdf40-c021-0135-fa62-06ca50569adc&authy_id=688611&callback_action=approval_request_status&device%5Bcity%5D=&device%5Bcountry%5D=Colombia&device%5Bid%5D=2102943&device%5Bip%5D=190.130.65.251&device%5Blast_account_recovery_at%5D=&device%5Blast_sync_date%5D=1505418173&device%5Bos_type%5D=android&device%5Bregion%5D=&device%5Bregistration_city%5D=&device%5Bregistration_country%5D=Colombia&device%5Bregistration_date%5D=1505418165&device%5Bregistration_ip%5D=190.130.66.242&device%5Bregistration_method%5D=sms&device%5Bregistration_region%5D=&device_uuid=2102943&signature=rRf5hjOsPql%2Fumb%2FzI6azWUx2Xx8s6hhKeOYXob0tqhIA7WUtUcvXDNfn%2BX%2FnAqOiBDcGr41aNU6mFw1nCbQI3jwtm9n%2F7RVtxrJN%2B85370dY0nOUpl19IGJ6xwyRa0U76svfePBROnrobGdyCvtHw6G4tT%2BJ3oo2T7Ji1TZ4scFLaRfiA95VmFYgJd6tEqoBom%2FtX8itKyxa%2FFTVSc8OriSusyX8GpxqSAKl9GjVKGp7W0p%2FGTzTU9lzVAIPHsIyX9%2FH%2BKUGk5d7oglcPb%2B0HX2V1ruSIg5IId5j3yrBPd%2Bjxf3HLTcrPMGjFZJhapMOwE4fgEWG9p6pfBYOyyauw%3D%3D&status=approved&uuid=224fdf40-c021-0135-fa62-06ca50569adc",
    ),
    (
        "testValidSignatureApprovedWithDetailsAndLogosGet",
        "1512943081",
        "5TM5uf+8WlPMjkREHeS39XUHv8CHjhq3/u/+/lWU7cg=",
        "approval_request%5Bapp_id%5D=582380eb7e1caa03317ec08c&approval_request%5Bexpiration_timestamp%5D=1513029464&approval_request%5Blogos%5D%5B%5D%5Bres%5D=default&approval_request%5Blogos%5D%5B%5D%5Burl%5D=https%3A%2F%2Fwww.itsalllost.com%2Fwp-content%2Fuploads%2F2017%2F04%2Ftwilio-logo-red.png&approval_request%5Btransaction%5D%5Bcreated_at_time%5D=1512943064&approval_request%5Btransaction%5D%5Bcustomer_uuid%5D=15083&approval_request%5Btransaction%5D%5Bdetails%5D%5Bcosa1%5D=cosa1&approval_request%5Btransaction%5D%5Bdetails%5D%5Bcosa2%5D=cosa2&approval_request%5Btransaction%5D%5Bdetails%5D%5Blocation%5D=California%2CUSA&approval_request%5Btransaction%5D%5Bdetails%5D%5Busername%5D=User&approval_request%5Btransaction%5D%5Bdevice_geolocation%5D=&approval_request%5Btransaction%5D%5Bdevice_signing_time%5D=1512943081&approval_request%5Btransaction%5D%5Bencrypted%5D=false&approval_request%5Btransaction%5D%5Bflagged%5D=false&approval_request%5Btransaction%5D%5Bhidden_details%5D%5Bip_address%5D=10.10.3.203&approval_request%5Btransaction%5D%5Bmessage%5D=Authorize+OneTouch+Unit+Test&approval_request%5Btransaction%5D%5Breason%5D=&approval_request%5Btransaction%5D%5Brequester_details%5D=&approval_request%5Btransaction%5D%5Bstatus%5D=approved&approval_request%5Btransaction%5D%5Buuid%5D=133c7590-c023-0135-fa61-06ca50569adc&authy_id=688611&callback_action=approval_request_status&device%5Bcity%5D=&device%5Bcountry%5D=Colombia&device%5Bid%5D=2102943&device%5Bip%5D=190.130.65.251&device%5Blast_account_recovery_at%5D=&device%5Blast_sync_date%5D=1505418173&device%5Bos_type%5D=android&device%5Bregion%5D=&device%5Bregistration_city%5D=&device%5Bregistration_country%5D=Colombia&device%5Bregistration_date%5D=1505418165&device%5Bregistration_ip%5D=190.130.66.242&device%5Bregistration_method%5D=sms&device%5Bregistration_region%5D=&device_uuid=2102943&signature=Q%2FTaHEbdfmBBw%2BT%2BgVBrM8Sw%2BdqT%2FnhdO6BJNc%2F7herUg4BxAwziQhdmQhqjY2nvtVJkWEa9PdB11tNjTcbMQs8cchyPPNLUvp8L7C82snxcH%2Fgdde65Z%2B39Aug5hCcXUoQ92PsRckvexkrCQASDWbvmJZnjVM5t3j%2BKXn2QVyZkc63GBE1W9GPNM7bmlL2ZOENPoxpUq9%2B%2FawTEb8WMDebDcFEPGSgNFcvk6%2FJTSwjzmmm8Ypk82s4P1lUq74WWxaDM7XJH2Q4mo9vHkDaRIweEx%2BliMqUQYoCtApD0vsPSe4Exfp5tfcelWE9xrte%2FF3qKiPSnV8xS0SY9L20%2F7A%3D%3D&status=approved&uuid=133c7590-c023-0135-fa61-06ca50569adc",
    ),
]

# --- twilio/authy-java @1a5b312c: test.properties (older 2017 callback format) -------------------

PROPS_KEY = "xzfVSc8CTwU2Mpl959CcMhw3fZBfI5F0"
PROPS_URL = "http://f617c113.ngrok.io/approved"
PROPS_NONCE = "1483484754"
PROPS_SIGNATURE = "q+Dz2RZyHEuBkr6n5tIeTUmTa6+nUeQOxKmaoYSrQWA="
PROPS_BODY = '{ "device_uuid": "cea50e20-3aeb-0133-f92a-34363b620e52", "callback_action": "approval_request_status", "uuid": "cdbabf40-1c65-0133-d113-34363b620e52", "status": "approved", "approval_request": { "transaction": { "details": { "Email Address": "jdoe@example.com" }, "device_details": {}, "device_geolocation": "", "device_signing_time": "946641599", "encrypted": false, "flagged": false, "hidden_details": { "ip": "1.1.1.1" }, "message": "Request to Login", "reason": "", "requester_details": "", "status": "approved", "uuid": "cdbabf40-1c65-0133-d113-34363b620e52", "created_at_time": "946641599", "customer_uuid": "25e026b36343-a29f-3310-bea3-02e05aec" }, "logos": "", "expiration_timestamp": "946641599" }, "signature": "rzqf/n08coE0Vi7IjbzAbt0IYMprJGAUx18kSJWE37K0mhvCGwepkm/pSDXuSs+5kSUFK80L9RT7/BZ7YwojSt5WhPnpRSImm5qKlvsNnGOPYCKVcFJxXCNJhtaztL/2BjOMzdC5yNHH5uJIDGBhlb5fLVErsvauvxXWo/Cj2STfITdSPULFz6XcbM1BDIriW7kP0GkELfUqE1iEuONEdhKYmPGolh3/U4t8i0NYkQSPhbOGG1DZEsxhnxtelyBNOGK9sFojTsAg7dWesRYnyDkjTHZ1MvggdZwXo4qxphrY2Ve7+o04EHPZW9RPvakwl9yQ6rVsspVF/xZT14BsgA==", "authy_id": 1234 }'  # noqa: E501
# The same file's authy_util_signature_params: the body as a query string, as the server sends it.
PROPS_PARAMS = "approval_request%5Bexpiration_timestamp%5D=946641599&approval_request%5Blogos%5D=&approval_request%5Btransaction%5D%5Bcreated_at_time%5D=946641599&approval_request%5Btransaction%5D%5Bcustomer_uuid%5D=25e026b36343-a29f-3310-bea3-02e05aec&approval_request%5Btransaction%5D%5Bdetails%5D%5BEmail+Address%5D=jdoe%40example.com&approval_request%5Btransaction%5D%5Bdevice_geolocation%5D=&approval_request%5Btransaction%5D%5Bdevice_signing_time%5D=946641599&approval_request%5Btransaction%5D%5Bencrypted%5D=false&approval_request%5Btransaction%5D%5Bflagged%5D=false&approval_request%5Btransaction%5D%5Bhidden_details%5D%5Bip%5D=1.1.1.1&approval_request%5Btransaction%5D%5Bmessage%5D=Request+to+Login&approval_request%5Btransaction%5D%5Breason%5D=&approval_request%5Btransaction%5D%5Brequester_details%5D=&approval_request%5Btransaction%5D%5Bstatus%5D=approved&approval_request%5Btransaction%5D%5Buuid%5D=cdbabf40-1c65-0133-d113-34363b620e52&authy_id=1234&callback_action=approval_request_status&device_uuid=cea50e20-3aeb-0133-f92a-34363b620e52&signature=rzqf%2Fn08coE0Vi7IjbzAbt0IYMprJGAUx18kSJWE37K0mhvCGwepkm%2FpSDXuSs%2B5kSUFK80L9RT7%2FBZ7YwojSt5WhPnpRSImm5qKlvsNnGOPYCKVcFJxXCNJhtaztL%2F2BjOMzdC5yNHH5uJIDGBhlb5fLVErsvauvxXWo%2FCj2STfITdSPULFz6XcbM1BDIriW7kP0GkELfUqE1iEuONEdhKYmPGolh3%2FU4t8i0NYkQSPhbOGG1DZEsxhnxtelyBNOGK9sFojTsAg7dWesRYnyDkjTHZ1MvggdZwXo4qxphrY2Ve7%2Bo04EHPZW9RPvakwl9yQ6rVsspVF%2FxZT14BsgA%3D%3D&status=approved&uuid=cdbabf40-1c65-0133-d113-34363b620e52"  # noqa: E501


def _nest_query(query: str) -> dict[str, Any]:
    """Decode a callback query string the way the Java test does (split on ``&``, URL-decode key
    and value, missing value -> ``""``), then nest the ``a[b][]`` keys as Rack would, giving the
    structure the server had signed."""
    root: dict[str, Any] = {}
    for part in query.split("&"):
        raw_key, _, raw_value = part.partition("=")
        key, value = unquote_plus(raw_key), unquote_plus(raw_value)
        head, *rest = re.split(r"\]?\[", key.removesuffix("]")) if "[" in key else [key]
        path = [head, *rest]
        node: Any = root
        for i, seg in enumerate(path[:-1]):
            child_is_list = path[i + 1] == ""
            if seg == "":  # node is a list of hashes: start a new one when the field repeats
                if not node or path[i + 1] in node[-1]:
                    node.append({})
                node = node[-1]
                continue
            node = node.setdefault(seg, [] if child_is_list else {})
        if path[-1] == "":
            node.append(value)
        else:
            node[path[-1]] = value
    return root


def _python_client_accepts(key: str, signature: str, nonce: str, url: str, body: Any) -> bool:
    client = OneTouch("https://api.authy.com", key)
    return bool(client.validate_one_touch_signature(signature, nonce, "POST", url, body))


# --- the eight real vectors ---------------------------------------------------------------------


def test_authy_client_post_vector() -> None:
    assert sign_callback(AC_KEY, AC_NONCE, "POST", AC_URL, AC_BODY) == AC_SIGNATURE


def test_authy_client_vector_canonical_prefix() -> None:
    data = callback_signing_string(AC_NONCE, "POST", AC_URL, AC_BODY)
    assert data.startswith(
        "1455825429|POST|https://foo.bar/|approval_request%5Bexpiration_timestamp%5D=1455911778"
        "&approval_request%5Blogos%5D=&approval_request%5Btransaction%5D%5Bcreated_at_time%5D"
        "=1455825378&"
    )
    # {} details vanish, nulls become "key=", the Base64 body field is escaped.
    assert "%5Bdetails%5D" not in data
    assert "hidden_details" not in data
    assert "%5Bdevice_details%5D=&" in data
    assert "signature=BObhJgZwgU7O9r4Uo9VT6j6shAOe7y%2FIRGpW%2FN0Uq34%2FXHZU9E%2BaHOI5" in data
    assert data.endswith("cng%3D%3D&status=approved&uuid=996221c0-b7a7-0133-7c06-0e67b818e6fb")


@pytest.mark.parametrize(
    ("name", "nonce", "signature", "body"), JAVA_POST, ids=[v[0] for v in JAVA_POST]
)
def test_authy_java_post_vectors(name: str, nonce: str, signature: str, body: str) -> None:
    params = json.loads(body)
    assert sign_callback(JAVA_KEY, nonce, "POST", JAVA_URL, params) == signature


@pytest.mark.parametrize(
    ("name", "nonce", "signature", "query"), JAVA_GET, ids=[v[0] for v in JAVA_GET]
)
def test_authy_java_get_vectors(name: str, nonce: str, signature: str, query: str) -> None:
    params = _nest_query(query)
    # The query string the server would send is exactly the one Authy sent...
    assert get_callback_query(params) == query
    # ...and the signature matches, whether or not the URL carries that query.
    assert sign_callback(JAVA_KEY, nonce, "GET", JAVA_URL, params) == signature
    assert sign_callback(JAVA_KEY, nonce, "get", f"{JAVA_URL}?{query}", params) == signature


def test_authy_java_properties_vector() -> None:
    params = json.loads(PROPS_BODY)
    assert to_query(params) == PROPS_PARAMS
    assert sign_callback(PROPS_KEY, PROPS_NONCE, "POST", PROPS_URL, params) == PROPS_SIGNATURE


def test_logos_keep_their_order() -> None:
    params = json.loads(JAVA_POST[2][3])
    query = to_query(params)
    logo = "approval_request%5Blogos%5D%5B%5D%5B"
    assert f"{logo}res%5D=default&{logo}url%5D=" in query
    assert query.index("res%5D=default") < query.index("res%5D=med")
    params["approval_request"]["logos"].reverse()
    assert sign_callback(JAVA_KEY, JAVA_POST[2][1], "POST", JAVA_URL, params) != JAVA_POST[2][2]


def test_a_changed_value_breaks_the_signature() -> None:
    body = json.loads(json.dumps(AC_BODY))
    body["status"] = "denied"
    assert sign_callback(AC_KEY, AC_NONCE, "POST", AC_URL, body) != AC_SIGNATURE
    assert sign_callback(AC_KEY, "1455825430", "POST", AC_URL, AC_BODY) != AC_SIGNATURE
    assert sign_callback(AC_KEY, AC_NONCE, "GET", AC_URL, AC_BODY) != AC_SIGNATURE


# --- to_query details ---------------------------------------------------------------------------


def test_to_query_scalars_and_escaping() -> None:
    assert to_query({"a": None, "b": True, "c": False, "d": 7, "e": 1.5}) == (
        "a=&b=true&c=false&d=7&e=1.5"
    )
    assert to_query({"f": 2.0, "g": 1e20, "h": 1e-05}) == "f=2.0&g=1.0e%2B20&h=1.0e-05"
    assert to_query({"k y": "a b~c*d/é€"}) == "k+y=a+b~c%2Ad%2F%C3%A9%E2%82%AC"
    assert to_query({"x": "._-AZaz09!'()"}) == "x=._-AZaz09%21%27%28%29"


def test_to_query_containers() -> None:
    assert to_query({"a": {}, "b": [], "c": 1}) == "c=1"
    assert to_query({"a": [1, "x", None]}) == "a%5B%5D=1&a%5B%5D=x&a%5B%5D="
    assert to_query({"a": [[]]}) == "a%5B%5D%5B%5D="
    # Hashes inside arrays are not sorted; hashes elsewhere are.
    assert to_query({"a": [{"z": 1, "b": 2}]}) == "a%5B%5D%5Bz%5D=1&a%5B%5D%5Bb%5D=2"
    assert to_query({"a": {"z": 1, "b": 2}}) == "a%5Bb%5D=2&a%5Bz%5D=1"
    # Sorting is byte order on the escaped pieces: uppercase first.
    assert to_query({"b": 1, "B": 2, "a": 3}) == "B=2&a=3&b=1"
    # Rails keeps the empty piece of a hash whose members all vanish.
    assert to_query({"a": {"b": {}}, "c": 1}) == "&c=1"


# --- cross-check with the official Python client ------------------------------------------------


def test_python_client_accepts_the_vectors() -> None:
    assert _python_client_accepts(AC_KEY, AC_SIGNATURE, AC_NONCE, AC_URL, AC_BODY)
    for _, nonce, _signature, body in JAVA_POST:
        params = json.loads(body)
        ours = sign_callback(JAVA_KEY, nonce, "POST", JAVA_URL, params)
        assert _python_client_accepts(JAVA_KEY, ours, nonce, JAVA_URL, params)
    params = json.loads(PROPS_BODY)
    ours = sign_callback(PROPS_KEY, PROPS_NONCE, "POST", PROPS_URL, params)
    assert _python_client_accepts(PROPS_KEY, ours, PROPS_NONCE, PROPS_URL, params)


FRESH_BODIES: list[dict[str, Any]] = [
    {
        "authy_id": 42,
        "device_uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "callback_action": "approval_request_status",
        "uuid": "4a725520-bff5-0135-eb01-0e5d90336a8c",
        "status": "approved",
        "signature": "ab/cd+ef==",
        "approval_request": {
            "transaction": {
                "details": {"username": "Zoë Müller", "location": "São Paulo, BR", "note": "a&b=c"},
                "hidden_details": {"ip_address": "10.0.0.1", "session": "x y z"},
                "device_details": {},
                "device_geolocation": "",
                "device_signing_time": 1512923419,
                "encrypted": False,
                "flagged": True,
                "message": "Log in to 東京 bank?",
                "reason": None,
                "requester_details": None,
                "status": "approved",
                "created_at_time": 1512923400,
                "customer_uuid": 15083,
            },
            "expiration_timestamp": 1513009800,
            "logos": [
                {"res": "default", "url": "https://example.com/a logo.png"},
                {"res": "low", "url": "https://example.com/b.png?x=1&y=2"},
                {"res": "high", "url": "https://example.com/c.png"},
            ],
            "app_id": "582380eb7e1caa03317ec08c",
        },
        "device": {"city": None, "country": "Côte d'Ivoire", "id": 2102943, "enabled": True},
    },
    {
        "authy_id": 1234,
        "status": "denied",
        "approval_request": {
            "transaction": {
                "details": None,
                "hidden_details": {"k": "v"},
                "message": "héllo wörld",
            },
            "logos": None,
        },
        "device": {"last_unlock_date": None, "multidevice_enabled": False},
    },
]


@pytest.mark.parametrize("body", FRESH_BODIES)
@pytest.mark.parametrize("url", ["https://example.com/authy/callback", "http://localhost:8000/cb"])
def test_python_client_accepts_fresh_callbacks(body: dict[str, Any], url: str) -> None:
    signature = sign_callback("k" * 32, "1700000000", "POST", url, body)
    assert _python_client_accepts("k" * 32, signature, "1700000000", url, body)
    assert not _python_client_accepts("K" * 32, signature, "1700000000", url, body)


# --- webhooks API -------------------------------------------------------------------------------

WEBHOOKS_URL = "https://api.authy.com/dashboard/json/application/webhooks"


def _hmac_b64(key: str, data: str) -> str:
    digest = hmac.new(key.encode(), data.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_webhooks_docs_example() -> None:
    params = {"b": "val|ue&2", "a": "value1"}
    assert sorted_params_query(params) == "a=value1&b=val%7Cue%262"
    nonce = "1427849783.886085"
    # The docs' data string, signed here with a made-up key (the docs do not give one).
    data = f"{nonce}|POST|{WEBHOOKS_URL}|a=value1&b=val%7Cue%262"
    assert data == (
        "1427849783.886085|POST|https://api.authy.com/dashboard/json/application/webhooks"
        "|a=value1&b=val%7Cue%262"
    )
    assert data.count("|") == 3
    signature = sign_api_request("signing-key", nonce, "post", WEBHOOKS_URL, params)
    assert signature == _hmac_b64("signing-key", data)
    assert verify_api_request(
        "signing-key", nonce, "POST", WEBHOOKS_URL, params, signature=signature
    )


def test_webhooks_create_params() -> None:
    params: dict[str, object] = {
        "url": "https://example.com/hook?a=1",
        "name": "My hook",
        "events": ["user_added", "one_touch_request_responded", "token_verified"],
        "app_api_key": "APIKEY",
        "access_key": "ACCESS",
    }
    assert sorted_params_query(params) == (
        "access_key=ACCESS&app_api_key=APIKEY&events%5B%5D=one_touch_request_responded"
        "&events%5B%5D=token_verified&events%5B%5D=user_added&name=My+hook"
        "&url=https%3A%2F%2Fexample.com%2Fhook%3Fa%3D1"
    )
    nonce = "5f0c1f6e-8a1e-4a55-9d67-6b1c0c3c9f00"
    signature = sign_api_request("WSK", nonce, "POST", WEBHOOKS_URL, params)
    assert verify_api_request("WSK", nonce, "POST", WEBHOOKS_URL, params, signature=signature)
    # A client that keeps events in the order sent (key-only sort) is accepted too.
    as_sent = (
        "access_key=ACCESS&app_api_key=APIKEY&events%5B%5D=user_added"
        "&events%5B%5D=one_touch_request_responded&events%5B%5D=token_verified&name=My+hook"
        "&url=https%3A%2F%2Fexample.com%2Fhook%3Fa%3D1"
    )
    other = _hmac_b64("WSK", f"{nonce}|POST|{WEBHOOKS_URL}|{as_sent}")
    assert verify_api_request("WSK", nonce, "POST", WEBHOOKS_URL, params, signature=other)
    # Anything else is rejected.
    assert not verify_api_request("WSK2", nonce, "POST", WEBHOOKS_URL, params, signature=signature)
    assert not verify_api_request(
        "WSK", nonce + "x", "POST", WEBHOOKS_URL, params, signature=signature
    )
    assert not verify_api_request("WSK", nonce, "GET", WEBHOOKS_URL, params, signature=signature)
    assert not verify_api_request(
        "WSK", nonce, "POST", WEBHOOKS_URL, {**params, "name": "x"}, signature=signature
    )
    assert not verify_api_request(
        "WSK", nonce, "POST", WEBHOOKS_URL, params, signature="ü" + signature
    )
    assert verify_api_request(
        "WSK", nonce, "POST", f"{WEBHOOKS_URL}?x=1", params, signature=signature
    )


# --- properties ---------------------------------------------------------------------------------

_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_to_query_never_raises(params: dict[str, Any]) -> None:
    query = to_query(params)
    assert query.isascii()
    assert sign_callback("key", "1", "POST", "https://x.test/", params)


# Values the Python client also flattens the way the server does: no "~"/"*" (escaping differs
# between verifiers), no "[n]" (it rewrites indices) and no leading "None" (it maps "=None" to "=").
_safe_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="~*["), max_size=16
).filter(lambda s: not s.startswith("None"))
_keys = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=6)
_nested = st.recursive(
    # Non-empty lists: a hash whose members all vanish gives Rails' stray "&" (see above).
    _safe_text | st.lists(_safe_text, min_size=1, max_size=10),
    lambda children: st.dictionaries(_keys, children, min_size=1, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(_keys, _nested, min_size=1, max_size=6))
def test_python_client_verifies_random_callbacks(params: dict[str, Any]) -> None:
    signature = sign_callback("api-key", "1512923419", "POST", "https://cb.test/x", params)
    assert _python_client_accepts("api-key", signature, "1512923419", "https://cb.test/x", params)
