"""Shared constants of the alerts tests (importable without a package)."""

#: Every notice fixture (relative to fixtures/gcn) that parse() must accept.
NOTICES = (
    "gcn-schema/main/gcn/notices/icecube/lvk_nu_track_search.example.json",
    "gcn-schema/main/gcn/notices/icecube/single_neutrino_alerts.gold_bronze_track_alerts.example.json",
    "gcn-schema/v1.0.0/gcn/notices/icecube/GoldAndBronze.example.json",
    "gcn-schema/v1.0.0/gcn/notices/icecube/GoldAndBronze.update.example.json",
    "gcn-schema/v1.0.0/gcn/notices/icecube/LvkNuTrackSearch.example.json",
    "gcn-schema/pr161-classic-amon/gcn/notices/classic/amon/astrotrack_alert.example.json",
    "gcn-schema/pr161-classic-amon/gcn/notices/classic/amon/cascade_alert.example.json",
    "voevent/amon_icecube_gold_190730_rev1.xml",
    "voevent/amon_icecube_bronze_190819_rev0.xml",
    "voevent/amon_icecube_hese_151115.xml",
    "voevent/amon_icecube_cascade_200701b_rev0.xml",
    "voevent/amon_icecube_cascade_200701b_rev0.fastresponse_sample.xml",
    "voevent/amon_nu_em_coinc_200522.xml",
    "voevent/amon_icecube_gold_190602_rev0.fastresponse_sample.xml",
    "voevent/EDITED_fastresponse_sample_astrotrack_alert_2021.xml",
    "classic_binary/ICECUBE_CASCADE_IC240518A.bin",
    "classic_text/DERIVED_hermes_docstring_ICECUBE_ASTROTRACK_GOLD_138283_14780365.txt",
    "classic_text/DERIVED_hermes_parsed_ICECUBE_CASCADE_141344_29341777.json",
)

# the Kafka mock-cluster helpers moved to tests/helpers/kafka_mock.py; re-exported under the old names
from helpers.kafka_mock import local_config, mock_cluster  # noqa: E402,F401

_local = local_config
