# Two commands do all setup on a fresh Debian machine (as root):
#   make demo   runs the AD constrained-delegation job against a throwaway local Samba AD domain
#   make test   runs every quality gate and test
.PHONY: demo test setup lint sanity unit docs-check clean

demo: setup
	.venv/bin/python scripts/demo.py

test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/python scripts/check_ps1_syntax.py plugins

sanity: setup
	bash scripts/sanity.sh

unit: setup
	.venv/bin/python -m pytest tests/unit

docs-check: setup
	.venv/bin/python scripts/check_docs.py

clean:
	rm -rf .tmp tests/output vaware-hyperv-*.tar.gz
