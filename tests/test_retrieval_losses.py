"""Equation 2 and the cosine loss against values computed by hand."""

import math

import pytest
import torch

from pacsmine.retrieval.losses import cosine_loss, sigmoid_cross_entropy


def test_equation_2_by_hand():
    # one element: output 0 (p^ = 0.5), target 0 (p = 0.5): -(0.5 ln 0.5 + 0.5 ln 0.5) = ln 2
    assert float(sigmoid_cross_entropy(torch.zeros(1, 1), torch.zeros(1, 1))) == pytest.approx(math.log(2))
    # output ln 3 (p^ = 3/4), target 0 (p = 1/2): -(0.5 ln 0.75 + 0.5 ln 0.25) = 0.8369882
    out = torch.tensor([[math.log(3.0)]])
    assert float(sigmoid_cross_entropy(out, torch.zeros(1, 1))) == pytest.approx(0.8369882, abs=1e-6)
    # the mean over elements: the two elements above together
    out2 = torch.tensor([[0.0, math.log(3.0)]])
    assert float(sigmoid_cross_entropy(out2, torch.zeros(1, 2))) == pytest.approx((0.6931472 + 0.8369882) / 2,
                                                                                  abs=1e-6)
    # target ln 3 (p = 3/4), output 0: -(0.75 ln 0.5 + 0.25 ln 0.5) = ln 2 again
    assert float(sigmoid_cross_entropy(torch.zeros(1, 1), out)) == pytest.approx(math.log(2), abs=1e-6)


def test_equation_2_is_smallest_where_the_output_equals_the_target():
    target = torch.tensor([[1.5, -0.7, 0.2, 3.0]])
    output = target.clone().requires_grad_(True)
    sigmoid_cross_entropy(output, target).backward()
    assert torch.allclose(output.grad, torch.zeros_like(target), atol=1e-7)
    # gradient (sigmoid(z) - sigmoid(t)) / N elsewhere: z = 0, t = 0 except one element t = ln 3
    z = torch.zeros(1, 4, requires_grad=True)
    t = torch.tensor([[math.log(3.0), 0.0, 0.0, 0.0]])
    sigmoid_cross_entropy(z, t).backward()
    assert z.grad[0, 0].item() == pytest.approx((0.5 - 0.75) / 4)


def test_cosine_loss_by_hand():
    out = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    tgt = torch.tensor([[2.0, 0.0, 1.0, 0.0]])
    # first halves parallel (cos 1), second orthogonal (cos 0): 1 - (1 + 0) / 2
    assert float(cosine_loss(out, tgt)) == pytest.approx(0.5)
    # opposite halves: cos -1 each -> loss 2; lengths do not matter
    assert float(cosine_loss(-3 * tgt, tgt)) == pytest.approx(2.0)
    # two images: mean of 0.5 and 0
    assert float(cosine_loss(torch.cat([out, tgt]), torch.cat([tgt, tgt]))) == pytest.approx(0.25)
    # 45 degrees in the first half: 1 - (cos 45 + 1) / 2
    assert float(cosine_loss(torch.tensor([[1.0, 1.0, 0.0, 1.0]]), torch.tensor([[1.0, 0.0, 0.0, 1.0]]))) \
        == pytest.approx(1 - (math.sqrt(0.5) + 1) / 2)
    with pytest.raises(ValueError):
        cosine_loss(torch.zeros(1, 3), torch.zeros(1, 3))
