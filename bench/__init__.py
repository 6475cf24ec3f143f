"""`make bench`: TwoStep's performance measured against a minimal baseline in the same run."""
