"""Device simulators that speak each adapter type's real protocol.

They are product code shared by ``manage.py simulate``, the demo and the tests. All of
them take their values from one :class:`adapters.simulators.plant.Plant`.
"""
