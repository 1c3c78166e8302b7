"""Generators of the embedded default data: a street scene seen by a LiDAR and a camera
(:mod:`.scene`, written as KITTI by ``data_prep/make_synthetic_kitti.py``), the same scene as
Waymo v1 / v2 segments (:mod:`.waymo`), and labelled motion videos in real containers and
codecs (:mod:`.video`). Used by ``data_prep/``, the benchmarks and the tests; no dataset or
model imports them."""
