"""The command line's exit codes: the AWS CLI's, plus one for CI gates (see ``layercheck --help``)."""

EXIT_OK = 0
EXIT_NOT_AVAILABLE = 1  # --fail-on-missing / --fail-on-broken: something is not AVAILABLE (or not COMPLETE)
EXIT_USAGE = 2  # argparse's code for a missing or malformed option, as the AWS CLI v1 exits
EXIT_INTERRUPTED = 130
EXIT_ERROR = 255  # the call failed: service error, invalid parameters, unknown options, no region or credentials
