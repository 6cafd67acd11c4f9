"""A ported model zoo: each model below is PyTorch code, run twice - as written against torch, and
with only its imports changed to autodiff and nn. Both start from the same state_dict (torch's
initialisation copied into ours), train a few steps side by side on the same batches, and must
report the same losses and end with the same parameters."""
import numpy as np
import pytest

from _torch import require_torch

torch = require_torch()

# The models as a PyTorch user writes them (torchvision-style ResNet basic blocks, the U-Net of
# the original paper at toy width, a VGG configuration list, a convolutional autoencoder).
ZOO = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, block=BasicBlock, num_blocks=(2, 2), num_classes=10):
        super().__init__()
        self.in_planes = 8
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = self._make_layer(block, 8, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 16, num_blocks[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer2(self.layer1(out))
        out = torch.flatten(self.avgpool(out), 1)
        return self.fc(out)


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diff_y = x2.size()[2] - x1.size()[2]
        diff_x = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diff_x // 2, diff_x - diff_x // 2, diff_y // 2, diff_y - diff_y // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    def __init__(self, n_channels=1, n_classes=3):
        super().__init__()
        self.inc = DoubleConv(n_channels, 4)
        self.down1 = Down(4, 8)
        self.down2 = Down(8, 16)
        self.up1 = Up(16, 8)
        self.up2 = Up(8, 4)
        self.outc = nn.Conv2d(4, n_classes, kernel_size=1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


class VGG(nn.Module):
    cfg = [8, "M", 16, 16, "M", 32, "M"]

    def __init__(self, num_classes=10):
        super().__init__()
        layers, in_channels = [], 3
        for v in self.cfg:
            if v == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1),
                           nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                in_channels = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(32 * 2 * 2, 64), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
        self.decoder = nn.Sequential(
            nn.Linear(10, 16 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (16, 4, 4)),
            nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))
'''

PORTED = (ZOO.replace("import torch.nn.functional as F", "import nn.functional as F")
          .replace("import torch.nn as nn", "import nn")
          .replace("import torch\n", "import autodiff as torch\n"))


def _namespace(source):
    namespace = {}
    exec(compile(source, "<model zoo>", "exec"), namespace)
    return namespace


# (model, input shape, loss written once for either library, optimizer and its arguments)
CASES = {
    "resnet": ("ResNet", (4, 3, 12, 12), lambda F, out, y: F.cross_entropy(out, y[:, 0, 0] % 10),
               "SGD", dict(lr=0.05, momentum=0.9, weight_decay=5e-4)),
    "unet": ("UNet", (2, 1, 12, 12), lambda F, out, y: F.cross_entropy(out, y % 3),
             "Adam", dict(lr=1e-2)),
    "vgg": ("VGG", (4, 3, 16, 16), lambda F, out, y: F.cross_entropy(out, y[:, 0, 0] % 10),
            "SGD", dict(lr=0.02, momentum=0.9, nesterov=True)),
    "autoencoder": ("AutoEncoder", (4, 1, 16, 16), lambda F, out, x: F.mse_loss(out, x),
                    "AdamW", dict(lr=1e-2)),
}
STEPS = 4


def _batches(shape, model_name, seed):
    rng = np.random.default_rng(seed)
    for _ in range(STEPS):
        x = rng.standard_normal(shape)
        if model_name == "AutoEncoder":
            yield x, rng.uniform(0, 1, shape)  # target images in [0, 1]
        else:
            yield x, rng.integers(0, 30, (shape[0],) + shape[2:])


def _dropout_off(model, lib_nn):
    # the two libraries draw different dropout masks: switch dropout alone to eval mode
    for m in model.modules():
        if isinstance(m, lib_nn.Dropout):
            m.eval()


@pytest.mark.parametrize("case", list(CASES))
def test_ported_model_trains_like_pytorch(case):
    import autodiff as ad
    import nn
    import nn.functional as F

    name, shape, loss_fn, opt_name, opt_args = CASES[case]
    theirs_ns, ours_ns = _namespace(ZOO), _namespace(PORTED)
    torch.manual_seed(0)
    theirs = theirs_ns[name]().double()
    ours = ours_ns[name]().double()
    state = {k: ad.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == \
        [tuple(p.shape) for p in theirs.parameters()]
    _dropout_off(theirs, torch.nn)
    _dropout_off(ours, nn)
    theirs_opt = getattr(torch.optim, opt_name)(theirs.parameters(), **opt_args)
    ours_opt = getattr(nn.optim, opt_name)(ours.parameters(), **opt_args)
    for step, (x, y) in enumerate(_batches(shape, name, seed=1)):
        theirs_opt.zero_grad()
        t_loss = loss_fn(torch.nn.functional, theirs(torch.tensor(x)), torch.tensor(y))
        t_loss.backward()
        theirs_opt.step()
        ours_opt.zero_grad()
        o_loss = loss_fn(F, ours(ad.tensor(x)), ad.tensor(y))
        o_loss.backward()
        ours_opt.step()
        assert abs(o_loss.item() - t_loss.item()) <= 1e-5 * max(1.0, abs(t_loss.item())), \
            f"{case}: step {step} loss {o_loss.item()} vs torch's {t_loss.item()}"
    for (k, v), (k2, v2) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert k == k2
        np.testing.assert_allclose(np.asarray(v.data, dtype=np.float64),
                                   v2.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-8,
                                   err_msg=f"{case}: {k} after {STEPS} steps")
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(2).standard_normal(shape)
    np.testing.assert_allclose(ours(ad.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-8, err_msg=f"{case}: eval-mode output")


def test_the_printed_models_match_pytorch():
    theirs_ns, ours_ns = _namespace(ZOO), _namespace(PORTED)
    for name in ("ResNet", "UNet", "VGG", "AutoEncoder"):
        assert repr(ours_ns[name]()) == repr(theirs_ns[name]()), name
