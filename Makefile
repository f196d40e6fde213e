# The two commands of the README. Each one first creates the environment
# (idempotent; see tools/setup_env.sh), then runs.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: env demo test docs

env:
	bash tools/setup_env.sh

demo: env
	$(PY) tools/run_demo.py $(DEMO_ARGS)

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

# The documentation site (docs/en), warnings as errors: a broken
# cross-reference or a docstring that does not render fails.
docs: env
	$(PY) -m sphinx -E -W --keep-going -b html docs/en docs/en/_build/html
