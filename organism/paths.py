"""Where the built-in model's files live."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
MODEL_DIR = PACKAGE_DIR / "model"
MANIFEST_PATH = PACKAGE_DIR / "manifest.json"
DATA_DIR = PACKAGE_DIR / "data"
