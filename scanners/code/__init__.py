"""Code that ships with a model: the references that make a loader import it (auto_map,
modules.json, model_index.json, handler.py, TorchServe manifests, MLflow MLmodel), and the Python
itself, judged from its syntax tree and by bandit, never imported."""
