"""The weights' moving average (TrainConfig.ema): the EMA follows the student with a warm-up."""
import torch

from seg_core.training.averaging import ema_model


def test_ema_follows_the_student_with_a_warm_up():
    student = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.BatchNorm2d(2))
    ema = ema_model(student, decay=0.99)
    with torch.no_grad():
        student[0].weight.fill_(1.0)
    ema.update_parameters(student)  # the first update copies
    assert torch.equal(ema.module[0].weight, student[0].weight)
    with torch.no_grad():
        student[0].weight.fill_(2.0)
    ema.update_parameters(student)  # n=1: decay (1 + 1) / (10 + 1), far below 0.99: mostly the student
    w = float(ema.module[0].weight.detach()[0, 0])
    assert abs(w - (1.0 * 2 / 11 + 2.0 * 9 / 11)) < 1e-5
    for _ in range(2000):
        ema.update_parameters(student)
    assert abs(float(ema.module[0].weight.detach()[0, 0]) - 2.0) < 1e-4
