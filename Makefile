# One command to run the demo, one to run every test. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := static/node_modules/.installed
BUNDLE := static/dist/.built
export DATABASE_URL ?= sqlite:///var/forum.db

.PHONY: run test check lint typecheck serve clean bundle

run: $(STAMP) $(BUNDLE)
	$(BIN)/forum db upgrade
	$(BIN)/forum demo
	$(BIN)/forum serve

test: $(STAMP) $(BUNDLE)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -ra -n 3  # three at once: most tests wait on a network or a browser

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NPM_STAMP): static/package.json static/package-lock.json
	cd static && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(BUNDLE): $(NPM_STAMP) static/build.mjs $(wildcard static/src/*.js static/src/**/*.js static/css/*.css)
	cd static && npm run --silent build
	touch $@

bundle: $(BUNDLE)

clean:
	rm -rf $(VENV) static/node_modules static/dist
