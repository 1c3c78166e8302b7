"""Video classification collections (UCF101, HMDB51, Kinetics-style CSV) as clips of decoded
frames: their annotation files (``annotations``), the video index (``index``), clip sampling
(``sampling``), a frame cache (``frame_cache``) and the dataset (``dataset``)."""
from .annotations import infer_format, read_annotations
from .dataset import VideoDataset
from .frame_cache import FrameCache
from .index import INDEX_FILE, build_video_index, probe_video
from .sampling import SAMPLERS, sample_clip_indices

__all__ = ['VideoDataset', 'FrameCache', 'read_annotations', 'infer_format', 'INDEX_FILE',
           'build_video_index', 'probe_video', 'SAMPLERS', 'sample_clip_indices']
