import importlib


def test_collection_is_importable_under_its_galaxy_name():
    mod = importlib.import_module("ansible_collections.vaware.hyperv.plugins")
    assert mod.__name__ == "ansible_collections.vaware.hyperv.plugins"
