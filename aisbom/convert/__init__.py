"""Import without running it: checkpoints to safetensors (`converter`), tensors handed to the
caller (`loading.load_tensors`), both from the scanner's own static reading of the file; and a
jailed natural loader for what cannot be read statically (`sandbox`)."""
