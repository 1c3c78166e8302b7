"""Scan a video folder once and write the index VideoDataset reads instead of probing every file
at start: per video (path relative to ROOT) its frame count, fps, duration and decoded size, or
the error that makes it unreadable (such videos are skipped, or reported, by the dataset).

    python data_prep/build_video_index.py --root data/ucf101/UCF-101 \
        [--out data/ucf101/video_index.json]

Each file is demuxed and its first and last frames decoded (--full decodes every frame: slower,
catches corruption in the middle). The default output is ROOT/video_index.json; VideoDataset
looks for it in its data_root (``index_file``), so pass --out when videos live in a sub-folder.
"""
import argparse

from mm_ssl.datasets.video import build_video_index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', help='folder of videos (searched recursively)')
    parser.add_argument('--out', help='index file (default ROOT/video_index.json)')
    # deprecated spelling: the folder as the only positional argument
    parser.add_argument('positional_root', nargs='?', metavar='ROOT', help=argparse.SUPPRESS)
    parser.add_argument('--full', action='store_true', help='decode every frame of every video')
    args = parser.parse_args(argv)
    if args.root and args.positional_root:
        parser.error('give the video folder once, as --root')
    root = args.root or args.positional_root
    if not root:
        parser.error('the following arguments are required: --root')
    return build_video_index(root, args.out, args.full)


if __name__ == '__main__':
    from mm_ssl.engine.cli import exit_on_error
    with exit_on_error():
        main()
