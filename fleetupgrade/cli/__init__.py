"""The command line: the only place that touches click, standard output and exit codes."""
