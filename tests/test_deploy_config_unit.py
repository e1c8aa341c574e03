"""The config helpers the launcher and tests use to adapt serve_config.yaml."""

from serve_app import deploy_config
from serve_app.settings import Settings


def test_with_args_overrides_every_application_without_touching_the_original():
    original = deploy_config.load_config()
    edited = deploy_config.with_args(original, batch_max_size=5, demo=True)
    assert edited["applications"][0]["args"]["batch_max_size"] == 5
    assert edited["applications"][0]["args"]["demo"] is True
    assert original["applications"][0]["args"]["batch_max_size"] == 8
    assert "demo" not in original["applications"][0]["args"]


def test_with_http_follows_the_settings():
    config = deploy_config.with_http(deploy_config.load_config(), Settings(http_host="127.0.0.1", http_port=9300))
    assert config["http_options"] == {"host": "127.0.0.1", "port": 9300}
    deploy_config.validate(config)


def test_without_gpus_zeroes_gpu_and_cpu_requests_and_stays_valid():
    config = deploy_config.without_gpus(deploy_config.load_config())
    options = [d["ray_actor_options"] for d in config["applications"][0]["deployments"]]
    assert all(o["num_gpus"] == 0 and o["num_cpus"] == 0 for o in options)
    deploy_config.validate(config)


def test_the_builder_is_the_configured_import_path():
    from serve_app.builder import build_app

    module, name = deploy_config.load_config()["applications"][0]["import_path"].split(":")
    assert module == build_app.__module__ and name == build_app.__name__
