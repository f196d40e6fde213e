"""mmcv's compiled CPU ops are really there and compute the right thing."""
import torch
from mmcv.ops import RoIAlign, nms


def test_nms_suppresses_overlapping_boxes():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))


def test_roi_align_interpolates_a_linear_ramp_exactly():
    # Bilinear interpolation of a ramp f(x, y) = x is exact, so every output bin
    # equals the x coordinate of its centre (aligned=True: pixel centres at +0.5).
    width = 16
    feature = torch.arange(width, dtype=torch.float32).add(0.5).expand(
        1, 1, width, width).contiguous()
    roi = torch.tensor([[0., 2., 2., 10., 10.]])  # batch index, x1, y1, x2, y2
    out = RoIAlign((4, 4), spatial_scale=1.0, sampling_ratio=2,
                   aligned=True)(feature, roi)
    bin_centres = 2 + (torch.arange(4, dtype=torch.float32) + 0.5) * 2
    assert out.shape == (1, 1, 4, 4)
    assert torch.allclose(out[0, 0], bin_centres.expand(4, 4), atol=1e-5)
