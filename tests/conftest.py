import sys
from pathlib import Path

# The annotation harness lives beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
