"""Encoders against independently built torchvision models with the same weights."""
import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm

from mm_ssl.errors import ConfigError
from mm_ssl.models.encoders import ResNet, ViT
from mm_ssl.registry import MODELS

LAYERS = ('layer1', 'layer2', 'layer3', 'layer4')


def assert_all_params_get_grads(model, loss):
    loss.backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('depth,feat_dim', [(18, 512), (34, 512), (50, 2048)])
def test_resnet_matches_torchvision(depth, feat_dim):
    torch.manual_seed(0)
    enc = ResNet(depth=depth).eval()
    ref = getattr(tvm, f'resnet{depth}')()
    missing, unexpected = ref.load_state_dict(enc.state_dict(), strict=False)
    assert sorted(missing) == ['fc.bias', 'fc.weight'] and not unexpected
    ref.fc = nn.Identity()
    ref.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        v = enc(x)
        torch.testing.assert_close(v, ref(x))
    assert enc.feat_dim == feat_dim and v.shape == (2, feat_dim)


@pytest.mark.parametrize('cifar_stem,strides', [(False, (4, 8, 16, 32)), (True, (1, 2, 4, 8))])
@pytest.mark.parametrize('size', [32, 64])
def test_resnet_map_shapes_and_strides(cifar_stem, strides, size):
    enc = ResNet(depth=18, cifar_stem=cifar_stem, out_maps=LAYERS).eval()
    assert enc.map_strides == dict(zip(LAYERS, strides))
    assert enc.map_channels == dict(zip(LAYERS, (64, 128, 256, 512)))
    with torch.no_grad():
        v, maps = enc(torch.randn(2, 3, size, size), return_maps=True)
    assert v.shape == (2, 512) and list(maps) == list(LAYERS)
    for name, s in zip(LAYERS, strides):
        assert maps[name].shape == (2, enc.map_channels[name], size // s, size // s)
    torch.testing.assert_close(v, maps['layer4'].mean((2, 3)))


def test_resnet_cifar_stem_in_channels_and_map_subset():
    enc = ResNet(depth=50, cifar_stem=True, in_channels=1, out_maps=('layer3',))
    assert enc.conv1.kernel_size == (3, 3) and enc.conv1.stride == (1, 1)
    assert isinstance(enc.maxpool, nn.Identity)
    assert enc.map_strides == {'layer3': 4} and enc.map_channels == {'layer3': 1024}
    v, maps = enc(torch.randn(2, 1, 32, 32), return_maps=True)
    assert v.shape == (2, 2048) and list(maps) == ['layer3']
    assert maps['layer3'].shape == (2, 1024, 8, 8)


def test_resnet_zero_init_residual_and_grads():
    enc = ResNet(depth=18, zero_init_residual=True)
    assert all(b.bn2.weight.abs().sum() == 0 for layer in LAYERS for b in getattr(enc, layer))
    enc = ResNet(depth=18, cifar_stem=True)
    assert_all_params_get_grads(enc, (enc(torch.randn(4, 3, 16, 16)) * torch.randn(4, 512)).sum())


def test_resnet_bad_config():
    with pytest.raises(ConfigError, match='depth'):
        ResNet(depth=101)
    with pytest.raises(ConfigError, match='layer5'):
        ResNet(depth=18, out_maps=('layer5',))


def test_built_from_registry():
    assert isinstance(MODELS.build(dict(type='ResNet', depth=18)), ResNet)
    assert isinstance(MODELS.build(dict(type='ViT', dim=32, depth=1, heads=2, mlp_dim=64)), ViT)


def torchvision_vit_cls(ref, x):
    tokens = ref._process_input(x)
    tokens = torch.cat([ref.class_token.expand(x.shape[0], -1, -1), tokens], dim=1)
    return ref.encoder(tokens)[:, 0]


@pytest.mark.parametrize('image_size,patch_size', [(32, 4), (64, 8), (96, 8)])
def test_vit_matches_torchvision(image_size, patch_size):
    torch.manual_seed(0)
    vit = ViT(image_size, patch_size, dim=48, depth=2, heads=3, mlp_dim=96).eval()
    ref = tvm.VisionTransformer(image_size, patch_size, num_layers=2, num_heads=3, hidden_dim=48,
                                mlp_dim=96).eval()
    missing, unexpected = ref.load_state_dict(vit.state_dict(), strict=False)
    assert sorted(missing) == ['heads.head.bias', 'heads.head.weight'] and not unexpected
    x = torch.randn(2, 3, image_size, image_size)
    with torch.no_grad():
        v, maps = vit(x, return_maps=True)
        torch.testing.assert_close(v, torchvision_vit_cls(ref, x))
        torch.testing.assert_close(vit(x), v)
    g = image_size // patch_size
    assert vit.feat_dim == 48 and v.shape == (2, 48)
    assert maps['tokens'].shape == (2, 48, g, g) and vit.map_strides == {'tokens': patch_size}
    # token (i, j) of the map is sequence position 1 + i * g + j of torchvision's encoder output
    with torch.no_grad():
        seq = ref.encoder(torch.cat([ref.class_token.expand(2, -1, -1), ref._process_input(x)], 1))
    torch.testing.assert_close(maps['tokens'][:, :, 1, 2], seq[:, 1 + g + 2])


def test_vit_in_channels_freeze_and_grads():
    vit = ViT(image_size=32, patch_size=8, dim=32, depth=1, heads=2, mlp_dim=64, in_channels=1,
              freeze_patch_embed=True)
    assert vit.conv_proj.in_channels == 1
    assert not any(p.requires_grad for p in vit.conv_proj.parameters())
    assert all(p.requires_grad for n, p in vit.named_parameters() if not n.startswith('conv_proj'))
    v, maps = vit(torch.randn(2, 1, 32, 32), return_maps=True)
    t = maps['tokens']
    loss = (v * torch.randn_like(v)).sum() + (t * torch.randn_like(t)).sum()
    assert_all_params_get_grads(vit, loss)
    assert vit.conv_proj.weight.grad is None

    vit = ViT(image_size=32, patch_size=8, dim=32, depth=1, heads=2, mlp_dim=64)
    assert all(p.requires_grad for p in vit.parameters())
    v = vit(torch.randn(2, 3, 32, 32))
    assert_all_params_get_grads(vit, (v * torch.randn_like(v)).sum())


def test_vit_other_input_size_interpolates_position_embedding():
    vit = ViT(image_size=32, patch_size=4, dim=32, depth=1, heads=2, mlp_dim=64).eval()
    with torch.no_grad():
        v, maps = vit(torch.randn(2, 3, 16, 24), return_maps=True)
    assert v.shape == (2, 32) and maps['tokens'].shape == (2, 32, 4, 6)
    assert vit._pos_embedding(8, 8) is vit.encoder.pos_embedding
    pos = vit._pos_embedding(4, 6)
    assert pos.shape == (1, 1 + 4 * 6, 32)
    torch.testing.assert_close(pos[:, 0], vit.encoder.pos_embedding[:, 0])
