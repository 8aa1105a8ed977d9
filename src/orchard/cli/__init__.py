"""The `orchard` command line: thin over the SDK, mirroring `az ml`."""
