import mmengine.registry as mm
from mmengine.registry import DefaultScope

from mm_ssl import registry


def test_registries_are_mm_ssl_children_of_mmengine_roots():
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'LOOPS', 'RUNNERS', 'METRICS'):
        ours, root = getattr(registry, name), getattr(mm, name)
        assert ours.scope == 'mm_ssl' and ours.parent is root, name


def test_components_resolve_by_name_in_the_mm_ssl_scope():
    with DefaultScope.overwrite_default_scope('mm_ssl'):
        # mmengine's root registries build mm_ssl components under the default scope (as the
        # runner does), and mm_ssl's registries find mmengine's components through the parent
        mlp = mm.MODELS.build(dict(type='MLP', in_dim=4, hidden_dim=8, out_dim=2))
        assert type(mlp).__module__ == 'mm_ssl.models.necks.mlp'
        digits = mm.DATASETS.build(dict(type='DigitsDataset', split='test', size=8))
        assert len(digits) == 360
        with mm.LOOPS.switch_scope_and_registry('mm_ssl') as loops:
            assert loops.get('KNNValLoop').__module__ == 'mm_ssl.engine.loops'
        assert registry.OPTIMIZERS.get('SGD').__name__ == 'SGD'
        assert registry.RUNNERS.get('SSLRunner').__name__ == 'SSLRunner'
