# The two commands of the README: `make run` serves the app, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test lint format bench notebook screenshots deploy-check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.app-installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed requirements-dev.txt pyproject.toml
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.app-installed
	$(PY) -m streamlit run streamlit_app.py

test: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev-installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The README's pictures: every page in headless Chromium after its main control is used.
screenshots: $(VENV)/.dev-installed
	MML7_DOCS_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/browser/test_browser.py -k test_page_in_browser

# Does requirements.txt resolve to wheels on Community Cloud's Pythons (Linux x86-64)?
# Asks PyPI (no install): one line per Python version, with the TensorFlow it would get.
MANYLINUX := $(foreach tag,manylinux2014 manylinux_2_17 manylinux_2_27 manylinux_2_28 manylinux_2_31 manylinux_2_34,--platform $(tag)_x86_64)
deploy-check: $(VENV)/.app-installed
	for version in 3.11 3.12 3.13; do \
	  $(PY) -m pip install -q --dry-run --ignore-installed --only-binary=:all: \
	    --python-version $$version $(MANYLINUX) --target /tmp/mml7-deploy-check \
	    -r requirements.txt --report /tmp/mml7-deploy-$$version.json || exit 1; \
	  $(PY) -c "import json, sys; r = json.load(open(sys.argv[1])); print('Python', sys.argv[2], len(r['install']), 'packages, e.g.', *[i['metadata']['name'] + ' ' + i['metadata']['version'] for i in r['install'] if 'tensorflow' in i['metadata']['name']])" /tmp/mml7-deploy-$$version.json $$version; \
	done

# examples/lecture.ipynb run top to bottom; the run with outputs goes to test-output/ (the
# committed notebook stays without outputs). `make notebook MML7_QUICK=1` is the short run.
notebook: $(VENV)/.dev-installed
	mkdir -p test-output
	PYTHONPATH=. $(PY) -c "import nbclient, nbformat; nb = nbformat.read('examples/lecture.ipynb', 4); nbclient.NotebookClient(nb, kernel_name='python3', timeout=1800, resources={'metadata': {'path': '.'}}).execute(); nbformat.write(nb, 'test-output/lecture.ipynb')"
	@echo "executed notebook: test-output/lecture.ipynb"

bench: $(VENV)/.dev-installed
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
