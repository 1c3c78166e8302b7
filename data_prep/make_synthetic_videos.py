"""Synthetic action videos in UCF101's layout: classes that only motion tells apart (the embedded
default for video self-supervision; see mm_ssl.synthetic.video).

    DIR/<Class>/v_<Class>_gNN_c01.mp4   H.264, --size px square, --seconds at --fps, a keyframe
                                         every --gop frames
    DIR/classInd.txt                     "1 MoveRight" ... (1-based, UCF101 format)
    DIR/trainlist01.txt                  "MoveRight/v_MoveRight_g04_c01.mp4 1"
    DIR/testlist01.txt                   "MoveRight/v_MoveRight_g01_c01.mp4"
    DIR/synthetic_videos.json            parameters and per-video labels; marks DIR as generated,
                                         so a re-run may replace it (any other non-empty DIR is
                                         refused)

Video v has class v % 10 and group v // 10 + 1; like UCF101's split 1, the lowest groups of each
class (--test-fraction of them) are the test split. Video v is drawn from numpy's
default_rng([seed, v]) and encoded by single-threaded x264: the output is a pure function of the
arguments. --stamp writes each frame's number into a strip along its top edge (for decoding
tests; it would give temporal tasks a shortcut, so it is off by default).
"""
import argparse

from mm_ssl.synthetic.video import write_video_set


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='output directory (DIR)')
    parser.add_argument('--videos', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, default=64, help='frame width and height, px')
    parser.add_argument('--seconds', type=float, default=2.0)
    parser.add_argument('--fps', type=int, default=25)
    parser.add_argument('--gop', type=int, default=12, help='frames per keyframe interval')
    parser.add_argument('--test-fraction', type=float, default=0.3)
    parser.add_argument('--stamp', action='store_true',
                        help='write each frame number into the pixels (for decoding tests)')
    parser.add_argument('--workers', type=int, default=1, help='processes generating videos')
    args = parser.parse_args(argv)
    return write_video_set(args.out, args.videos, args.seed, args.size, args.seconds,
                           args.fps, args.gop, args.test_fraction, args.stamp, args.workers)


if __name__ == '__main__':
    from mm_ssl.engine.cli import exit_on_error
    with exit_on_error():
        main()
