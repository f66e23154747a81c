from __future__ import annotations

import pytest

from icecore.scan import SyntheticEvent


@pytest.fixture(scope="session")
def synthetic_event():
    # kappa 3000/rad^2: 90 % Wilks cap ~15.8 deg^2; vertex_weight > 0 makes -lnL depend on seeding
    return SyntheticEvent(ra_deg=123.4, dec_deg=-12.3, mjd=60000.5, kappa=3000.0, vertex_weight=1e-4,
                          run_id=1234, event_id=56)


@pytest.fixture(scope="session")
def synthetic_result(synthetic_event):
    from icecore.scan import scan

    return scan(synthetic_event, threads=2, progress=False)
