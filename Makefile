# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint format typecheck clean messages compilemessages

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Set up, migrate, seed the demo (ending today), then run web + Celery worker + beat (+ the
# local payment provider peers) in the foreground; Ctrl-C stops them all. The steps are in
# bin/run-all.sh, so each sees AMBASSADOR_URL=http://$(HOST):$(PORT) (unless already set):
# the links in e-mails open on this server.
run: install
	@bash bin/run-all.sh $(HOST) $(PORT)

# The whole suite. Uses PostgreSQL / Redis when DATABASE_URL / REDIS_URL are set, SQLite otherwise.
test: install
	$(BIN)/python -m pytest $(ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# mypy (django-stubs) over the typed layers: services, selectors and gateways of each app,
# whether a module or a package, and config's shared kernel.
TYPED = config/money.py config/queue.py $(wildcard */services.py */services */selectors.py \
	*/selectors */gateways)
typecheck: install
	$(BIN)/mypy $(filter-out tests/% .venv/%,$(TYPED))

# Translations (locale/<lang>/LC_MESSAGES/django.po). `messages` extracts every string
# marked in Python and templates into the seven catalogues (needs GNU gettext, a developer's
# tool: apt-get install gettext), then compiles them; translate the new empty msgstr
# entries and run `make compilemessages`. Compiling uses polib (pure Python) and the .mo
# files are committed, so a fresh install and CI need no gettext; CI checks they match.
LOCALES = de fr es it nl pt ja
messages: install
	$(BIN)/python manage.py makemessages $(addprefix -l ,$(LOCALES)) --no-obsolete \
		--ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*'
	$(BIN)/python -m devtools.i18n_messages

compilemessages: install
	$(BIN)/python -m devtools.i18n_messages

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var
