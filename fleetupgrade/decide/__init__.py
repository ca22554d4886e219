"""Pure decisions over plain values: classification, launch choice, wave gates, run result."""
