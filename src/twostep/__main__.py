from twostep.cli.main import main

main()
