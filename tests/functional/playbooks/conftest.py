"""Playbook tests: the real ansible-playbook against scripted Windows hosts (see scripted_windows_host/)."""
