"""A small convolutional network in PyTorch, trained on the CPU in seconds.

The loader reads the images from their files batch by batch, every epoch: nothing
holds the whole training set in memory, as a larger data set would need.
"""

import numpy as np
import torch
from torch import nn


def _network(n_classes):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 16 -> 8 x 8
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # -> 4 x 4
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, n_classes))


def _tensor(images):
    """A batch of (16, 16) uint8 images as (n, 1, 16, 16) floats in [0, 1]."""
    return torch.from_numpy(np.stack(images).astype(np.float32) / 255.0).unsqueeze(1)


class ImageClassifier:
    def __init__(self, epochs=8, batch_size=32, seed=0):
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed

    def fit(self, img_loader):
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        # the class of a label: its position among the kit's labels (0 to 9 here)
        labels = [str(c) for c in getattr(img_loader, "labels", ())] or \
            [str(i) for i in range(img_loader.n_classes)]
        self.net = _network(img_loader.n_classes)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=3e-3)
        loss = nn.CrossEntropyLoss()
        self.net.train()
        for _ in range(self.epochs):
            order = rng.permutation(len(img_loader))
            for start in range(0, len(order), self.batch_size):
                images, y = img_loader.parallel_load(order[start:start + self.batch_size])
                target = torch.tensor([labels.index(str(v)) for v in y])
                optimizer.zero_grad()
                loss(self.net(_tensor(images)), target).backward()
                optimizer.step()
        return self

    def predict_proba(self, img_loader):
        self.net.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(img_loader), 256):
                images = img_loader.parallel_load(range(start, min(start + 256,
                                                                   len(img_loader))))
                out.append(torch.softmax(self.net(_tensor(images)), dim=1).numpy())
        return np.concatenate(out)
