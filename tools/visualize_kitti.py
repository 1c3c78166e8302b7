"""Visual checks of a KITTI-format tree (real KITTI, our synthetic one, or Waymo-in-KITTI):

    python tools/visualize_kitti.py --root DIR [--split training] [--frame 000000 ...]
                                    [--out-dir DIR/vis] [--camera 2] [--waymo]

writes per frame ``<id>_projection.png`` (LiDAR points projected into the camera image, coloured
by depth) and ``<id>_bev.png`` (bird's-eye view, x forward up, y left, label boxes as oriented
rectangles coloured and named by class). Misaligned points or boxes point at a wrong calibration,
a wrong box convention or a wrong point layout before any training is spent on them."""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use('Agg')  # headless: servers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch, Polygon  # noqa: E402

from mm_ssl.datasets import kitti_io  # noqa: E402
from mm_ssl.engine.cli import exit_on_error  # noqa: E402
from mm_ssl.errors import DataError  # noqa: E402

CLASS_COLOURS = {'Car': 'tab:blue', 'Van': 'tab:cyan', 'Truck': 'tab:purple',
                 'Pedestrian': 'tab:red', 'Person_sitting': 'tab:pink', 'Cyclist': 'tab:orange',
                 'Tram': 'tab:brown', 'Misc': 'tab:olive',
                 # Waymo-in-KITTI class names
                 'Vehicle': 'tab:blue', 'Sign': 'tab:olive'}
OTHER_COLOUR = 'tab:gray'


def label_box(label):
    """A label dict of :func:`kitti_io.read_label` as a camera box ``(x, y, z, l, h, w, ry)``;
    the file holds dimensions as (h, w, l)."""
    h, w, length = label['dimensions']
    return np.array([*label['location'], length, h, w, label['rotation_y']])


def bev_box_corners(label, lidar2cam):
    """The label's box footprint in the LiDAR x-y plane, counter-clockwise from front-left.

    Shape:
        returns (4, 2) float64, (x, y) per corner.
    """
    x, y, _, length, w, _, yaw = kitti_io.camera_box_to_lidar(label_box(label), lidar2cam)[0]
    local = np.array([[length, w], [-length, w], [-length, -w], [length, -w]]) / 2
    rot = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
    return local @ rot.T + [x, y]


def _find_image(folder, frame):
    """KITTI ships PNG, mmdet3d's Waymo converter writes JPEG."""
    for ext in ('.png', '.jpg'):
        if (folder / f'{frame}{ext}').is_file():
            return folder / f'{frame}{ext}'
    raise DataError(f'{folder / frame}.png: missing file (no .jpg either)')


def load_frame(root, split, frame, camera, waymo=False):
    """Points, image, calibration and labels (empty list without a label file) of one frame."""
    base = Path(root) / split
    calib = kitti_io.read_calib(base / 'calib' / f'{frame}.txt', camera)
    points = kitti_io.read_points(base / 'velodyne' / f'{frame}.bin', 6 if waymo else 4)
    image = np.asarray(kitti_io.read_image(_find_image(base / f'image_{camera}', frame)))
    # labels live in the reference camera's frame: KITTI label_2 (camera 0's rectified frame),
    # Waymo label_0 (FRONT)
    label_path = base / ('label_0' if waymo else 'label_2') / f'{frame}.txt'
    labels = kitti_io.read_label(label_path) if label_path.is_file() else []
    return dict(points=points, image=image, calib=calib, labels=labels)


def draw_projection(image, points, lidar2img, path, max_depth=None):
    """Points in front of the camera and inside the image, over it, coloured by depth. The PNG
    has the image's aspect ratio (no margins, colour bar inset) so pixels can be compared."""
    h, w = image.shape[:2]
    uv, depth = kitti_io.project_points(points[:, :3].astype(np.float64), lidar2img)
    seen = (depth > 0) & (uv[:, 0] >= -0.5) & (uv[:, 0] < w - 0.5) \
        & (uv[:, 1] >= -0.5) & (uv[:, 1] < h - 0.5)
    scale = max(1.0, 1242 / w)  # small synthetic images are upscaled to KITTI's width
    fig = plt.figure(figsize=(w * scale / 100, h * scale / 100), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(image, extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    # far points first so near ones (the ones that matter for alignment) stay on top
    order = np.argsort(-depth[seen])
    vmax = max_depth or (float(np.percentile(depth[seen], 95)) if seen.any() else 1.0)
    sc = ax.scatter(uv[seen, 0][order], uv[seen, 1][order], c=depth[seen][order], s=1.5,
                    cmap='jet', vmin=0, vmax=vmax, linewidths=0)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.axis('off')
    cbar = fig.colorbar(sc, cax=ax.inset_axes([0.93, 0.08, 0.012, 0.84]))
    cbar.set_label('depth (m)', color='white', fontsize=7)
    cbar.ax.tick_params(labelsize=6, colors='white')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return int(seen.sum())


def draw_bev(points, labels, lidar2cam, path, bev_range=70.0):
    """Bird's-eye view: LiDAR x up, y to the left (so the plot's horizontal axis is -y), points
    shaded by height, label boxes as oriented rectangles with a heading tick. DontCare regions
    carry no 3D box and are skipped."""
    fig, ax = plt.subplots(figsize=(8, 8), dpi=100)
    near = (np.abs(points[:, 0]) <= bev_range) & (np.abs(points[:, 1]) <= bev_range)
    ax.scatter(-points[near, 1], points[near, 0], c=points[near, 2], s=0.3, cmap='Greys_r',
               vmin=-4.0, vmax=1.0, linewidths=0)
    ax.set_facecolor('black')
    classes = {}
    for label in labels:
        if label['type'] == 'DontCare':
            continue
        colour = CLASS_COLOURS.get(label['type'], OTHER_COLOUR)
        classes[label['type']] = colour
        corners = bev_box_corners(label, lidar2cam)
        ax.add_patch(Polygon(np.c_[-corners[:, 1], corners[:, 0]], closed=True, fill=False,
                             edgecolor=colour, linewidth=1.2))
        centre, front = corners.mean(0), corners[[0, 3]].mean(0)
        ax.plot([-centre[1], -front[1]], [centre[0], front[0]], color=colour, linewidth=1.2)
        ax.text(-corners[:, 1].max(), corners[:, 0].max(), label['type'], color=colour,
                fontsize=7, va='bottom', ha='right', clip_on=True)
    ax.plot(0, 0, marker='^', color='lime', markersize=6)  # the sensor, pointing forward
    ax.set_xlim(-bev_range, bev_range)  # -y grows rightwards, so +y (left) is on the left
    ax.set_ylim(-bev_range, bev_range)
    ax.set_aspect('equal')
    ax.set_xlabel('-y (m, right)')
    ax.set_ylabel('x (m, forward)')
    if classes:
        ax.legend(handles=[Patch(edgecolor=c, fill=False, label=n) for n, c in classes.items()],
                  loc='upper right', fontsize=7)
    fig.savefig(path, dpi=100, bbox_inches='tight')
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', required=True, help='KITTI-format root (holds training/)')
    parser.add_argument('--split', default='training')
    parser.add_argument('--frame', nargs='+', default=['000000'], help='frame ids')
    parser.add_argument('--out-dir', help='default: ROOT/vis')
    parser.add_argument('--camera', type=int, help='camera index (default 2; Waymo 0)')
    parser.add_argument('--waymo', action='store_true',
                        help='Waymo-in-KITTI: 6-channel points, camera 0, label_0')
    parser.add_argument('--bev-range', type=float, default=70.0, help='BEV half-width (m)')
    args = parser.parse_args(argv)

    camera = args.camera if args.camera is not None else (0 if args.waymo else 2)
    out_dir = Path(args.out_dir or Path(args.root) / 'vis')
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for frame in args.frame:
        data = load_frame(args.root, args.split, frame, camera, args.waymo)
        proj, bev = out_dir / f'{frame}_projection.png', out_dir / f'{frame}_bev.png'
        seen = draw_projection(data['image'], data['points'],
                               kitti_io.lidar2img(data['calib'], camera), proj)
        # Waymo labels are in camera 0's frame; KITTI's lidar2cam is shared by all cameras
        draw_bev(data['points'], data['labels'],
                 kitti_io.lidar2cam(data['calib'], 0 if args.waymo else camera), bev,
                 args.bev_range)
        print(f'{frame}: {len(data["points"]):,} points ({seen:,} in image {camera}), '
              f'{len(data["labels"])} labels')
        for path in (proj, bev):
            print(f'wrote {path}')
        written += [proj, bev]
    return written


if __name__ == '__main__':
    with exit_on_error():
        main()
