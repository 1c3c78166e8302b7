"""PairwiseOrderHead: the pair inputs against hand-built ones, and what the difference input
buys (a look shared by the items of a tuple does not reach the logits)."""
import pytest
import torch

from mm_ssl.models.heads import PairwiseOrderHead


def head_with(pair_input, num_items=3, dim=4):
    torch.manual_seed(0)
    return PairwiseOrderHead(dim, num_items, 6, hidden_dim=8, pair_input=pair_input).eval()


@pytest.mark.parametrize('pair_input', ['difference', 'concat'])
def test_pair_inputs_are_the_pairs_i_before_j(pair_input):
    head = head_with(pair_input)
    feats = torch.randn(2, 3, 4, dtype=torch.float64)
    head.double()
    rows = []
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        a, b = feats[:, i], feats[:, j]
        x = torch.cat([b - a, (b - a).abs()], 1) if pair_input == 'difference' else \
            torch.cat([a, b], 1)
        rows.append(head.act(head.norm(head.fc(x))))
    expected = head.classifier(torch.stack(rows, 1).flatten(1))
    torch.testing.assert_close(head(feats), expected)


def test_a_look_shared_by_the_tuple_does_not_reach_the_logits():
    feats = torch.randn(5, 3, 4)
    look = torch.randn(5, 1, 4) * 10          # one vector per tuple, added to each of its items
    difference, concat = head_with('difference'), head_with('concat')
    torch.testing.assert_close(difference(feats + look), difference(feats))
    assert not torch.allclose(concat(feats + look), concat(feats), atol=1e-3)


def test_unknown_pair_input_is_refused():
    with pytest.raises(ValueError, match="pair_input must be 'difference' or 'concat'"):
        PairwiseOrderHead(4, 3, 6, pair_input='sum')
