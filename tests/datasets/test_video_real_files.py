"""VideoReader on the kinds of file real collections hold (``FILE_KINDS``: edit lists, open GOPs,
AVI without presentation timestamps, N-VOPs, variable frame rate, VP9, HEVC, MPEG-TS/PS start
times), each checked against an independent reference: a plain PyAV decode of the whole file,
frames in the order they come out. Every frame carries its number in its pixels, so a wrong frame
cannot pass for a right one."""
import json

import av
import numpy as np
import pytest
from av.bitstream import BitStreamFilterContext

from mm_ssl.datasets import VideoReader
from mm_ssl.synthetic.video import (FILE_KINDS, VideoSpec, read_frame_number, render_video,
                                    write_file_kind, write_video)
from mm_ssl.datasets.video import probe_video
from mm_ssl.errors import DataError

FRAMES, GOP = 60, 10  # 64 px, 25 fps; a keyframe every 10 frames, so that seeks matter


def sequential_decode(path):
    """Every frame plain PyAV shows, in the order it shows them (FFmpeg drops the frames an edit
    list hides and pictures whose references are missing)."""
    with av.open(str(path)) as container:
        container.streams.video[0].codec_context.thread_count = 1
        return np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])


@pytest.fixture(scope='module')
def frames():
    spec = VideoSpec(label=0, width=64, height=64, seconds=FRAMES / 25)
    return render_video(spec, np.random.default_rng(0), stamp=True)


@pytest.fixture(scope='module', params=list(FILE_KINDS))
def video(request, frames, tmp_path_factory):
    """(path, reference frames) of one file kind."""
    kind = request.param
    path = tmp_path_factory.mktemp(kind) / f'{kind}{FILE_KINDS[kind][0]}'
    write_file_kind(path, frames, kind, gop=GOP)
    return path, sequential_decode(path)


def requests(num_frames, rng):
    """Sorted and unsorted random sets (repeats included), clips, and the edge cases."""
    sets = [np.sort(rng.choice(num_frames, rng.integers(1, 12), replace=False))
            for _ in range(12)]
    sets += [rng.integers(0, num_frames, rng.integers(1, 12)) for _ in range(12)]
    sets += [np.arange(s, s + 16) for s in rng.integers(0, num_frames - 16, 4)]
    sets += [[num_frames - 1], [0], [num_frames - 1, 0, num_frames - 1],
             np.arange(num_frames)[::-1]]
    return [np.asarray(s) for s in sets]


def test_reference_shows_distinct_frames(video):
    _, reference = video
    numbers = [read_frame_number(f) for f in reference]
    assert numbers == sorted(set(numbers)) and len(numbers) >= FRAMES - 14, numbers


def test_frame_count_is_what_a_decoder_shows(video):
    path, reference = video
    with VideoReader(path) as reader:
        assert reader.num_frames == len(reference)
        assert reader.keyframes[0] == 0 and reader.keyframes == sorted(set(reader.keyframes))


def test_random_and_sorted_frames_match_the_sequential_decode(video):
    path, reference = video
    rng = np.random.default_rng(0)
    with VideoReader(path) as reader:  # one reader: what it learns about seeks carries over
        for indices in requests(len(reference), rng):
            np.testing.assert_array_equal(reader.read_frames(indices), reference[indices],
                                          err_msg=f'{path.name}: frames {indices.tolist()}')
    for indices in requests(len(reference), rng)[:6]:  # fresh readers, as a dataset opens files
        with VideoReader(path) as reader:
            np.testing.assert_array_equal(reader.read_frames(indices), reference[indices])


def test_frame_table_serves_the_same_frames(video):
    path, reference = video
    with VideoReader(path) as reader:
        table = json.loads(json.dumps(reader.frame_table()))  # as a video index stores it
    with VideoReader(path, frame_table=table) as reader:
        assert reader.num_frames == len(reference)
        indices = np.random.default_rng(1).integers(0, len(reference), 20)
        np.testing.assert_array_equal(reader.read_frames(indices), reference[indices])


def test_frames_the_decoder_rejects_raise_a_data_error(frames, tmp_path):
    """A file whose container lists a frame the decoder rejects (its bytes overwritten, as a bad
    download leaves it): reads that need the frame raise DataError naming the file instead of
    returning a neighbour; the frames before its GOP still read."""
    path = tmp_path / 'damaged.mp4'
    write_video(path, frames, gop=GOP)
    reference = sequential_decode(path)
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    position, size = packets[2 * GOP + 4]  # a frame in the third GOP
    with open(path, 'r+b') as f:
        f.seek(position)
        f.write(b'\xff' * size)
    with VideoReader(path) as reader:
        np.testing.assert_array_equal(reader.read_frames([3, 12]), reference[[3, 12]])
        for indices in ([2 * GOP + 1, 2 * GOP + 8], range(reader.num_frames)):
            with pytest.raises(DataError, match=str(path)) as error:
                reader.read_frames(indices)
            assert error.value.reason == 'unreadable'


def test_a_frame_the_decoder_drops_silently_raises_a_data_error(frames, tmp_path):
    """MPEG-2 in Matroska with one packet that holds user data and no picture: the container
    lists 60 frames, a decoder shows 59, and nothing in the packets tells which. Reads that
    decode across the gap, and a full probe (as ``build_video_index(full=True)`` runs), raise
    DataError naming the file rather than return a frame under another's number."""
    source, path = tmp_path / 'source.mkv', tmp_path / 'no_picture.mkv'
    with av.open(str(source), 'w') as container:
        stream = container.add_stream('mpeg2video', rate=25, options={'qscale': '3'})
        stream.width, stream.height, stream.pix_fmt = 64, 64, 'yuv420p'
        stream.codec_context.gop_size = GOP
        for img in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')))
        container.mux(stream.encode())
    with av.open(str(source)) as src, av.open(str(path), 'w') as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for k, packet in enumerate(p for p in src.demux(video=0) if p.size):
            if k == 2 * GOP + 5:
                user_data = av.Packet(b'\x00\x00\x01\xb2no picture')
                user_data.pts, user_data.dts = packet.pts, packet.dts
                user_data.time_base, packet = packet.time_base, user_data
            packet.stream = out
            dst.mux(packet)
    assert len(sequential_decode(path)) == FRAMES - 1
    with VideoReader(path) as reader:
        with pytest.raises(DataError, match=f'{path}: timestamps do not number') as error:
            reader.read_frames([2 * GOP + 2, 2 * GOP + 7])
        assert error.value.reason == 'unreadable'
    assert probe_video(path, full=True)['reason'] == 'unreadable'


def test_resized_frames_match_a_resizing_sequential_decode(video):
    """``short_side`` converts with one swscale context for all frames: the same pixels as a
    plain decode that converts each frame on its own (PyAV's per-frame context)."""
    path, _ = video
    with av.open(str(path)) as container:
        container.streams.video[0].codec_context.thread_count = 1
        reference = np.stack([f.to_ndarray(format='rgb24', width=40, height=40,
                                           interpolation='BILINEAR')
                              for f in container.decode(video=0)])
    indices = np.random.default_rng(2).integers(0, len(reference), 20)
    with VideoReader(path, short_side=40) as reader:
        np.testing.assert_array_equal(reader.read_frames(indices), reference[indices])


def packets_of(path):
    with av.open(str(path)) as container:
        return [(p.pts, p.is_keyframe) for p in container.demux(video=0) if p.size]


def test_untimed_leading_pictures_leave_the_pts_numbering(frames, tmp_path):
    """HEVC cut at a CRA into Matroska: the leading pictures of the first keyframe have no pts
    and do not decode. The reader checks that first GOP by decoding it once and numbers every
    other frame by pts, so a read seeks instead of decoding from the start."""
    path = tmp_path / 'cut.mkv'
    write_file_kind(path, frames, 'hevc_mkv_cut', gop=GOP)
    packets, reference = packets_of(path), sequential_decode(path)
    second_key = [i for i, (_, key) in enumerate(packets) if key][1]
    assert None in [pts for pts, _ in packets[:second_key]]  # what the test is about
    assert None not in [pts for pts, _ in packets[second_key:]]
    with VideoReader(path) as reader:
        assert 'pts' in reader.frame_table() and reader.decoded <= GOP + 1  # to keyframe 2
        decoded = reader.decoded
        last = len(reference) - 1
        np.testing.assert_array_equal(reader.read_frames([last]), reference[[last]])
        assert reader.decoded - decoded <= 2 * GOP  # from the last keyframe, not the start


def test_untimed_pictures_past_the_first_gop_are_counted_by_decoding(frames, tmp_path):
    """The same HEVC as a raw elementary stream: no packet has a pts, so pts cannot name the
    frames beyond the first GOP's check; the reader numbers them by decoding from the start."""
    source, path = tmp_path / 'cut.mkv', tmp_path / 'cut.hevc'
    write_file_kind(source, frames, 'hevc_mkv_cut', gop=GOP)
    with av.open(str(source)) as src, av.open(str(path), 'w', format='hevc') as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        annex_b = BitStreamFilterContext('hevc_mp4toannexb', stream)  # start codes, as .hevc
        for packet in [p for p in src.demux(stream) if p.size] + [None]:
            for filtered in annex_b.filter(packet):
                filtered.stream = out
                dst.mux(filtered)
    assert {pts for pts, _ in packets_of(path)} == {None}
    reference = sequential_decode(path)
    with VideoReader(path) as reader:
        assert reader.frame_table() == dict(sequential_frames=len(reference))
        indices = np.random.default_rng(3).integers(0, len(reference), 12)
        np.testing.assert_array_equal(reader.read_frames(indices), reference[indices])


def test_later_readers_reuse_the_probed_frame_table_until_the_file_changes(frames, tmp_path):
    """H.264 in AVI: the probe decodes the whole file to number its frames. A later reader of
    the unchanged file in the same process takes that table (no decode on opening); after the
    file is replaced, the next reader probes the new one."""
    path = tmp_path / 'video.avi'
    write_file_kind(path, frames, 'h264_avi', gop=GOP)
    reference = sequential_decode(path)
    with VideoReader(path) as first:
        assert first.decoded == len(reference)
    with VideoReader(path) as later:
        assert later.decoded == 0 and later.frame_table() == first.frame_table()
        indices = np.random.default_rng(4).integers(0, len(reference), 12)
        np.testing.assert_array_equal(later.read_frames(indices), reference[indices])
    write_file_kind(path, frames, 'mpeg4_avi_dropped', gop=GOP)  # 2 frames fewer
    replaced = sequential_decode(path)
    with VideoReader(path) as reader:
        assert reader.num_frames == len(replaced) == len(reference) - 2
        indices = np.random.default_rng(5).integers(0, len(replaced), 12)
        np.testing.assert_array_equal(reader.read_frames(indices), replaced[indices])


def test_n_vops_are_found_by_decoding_only_their_gops(frames, tmp_path):
    """MPEG-4 ASP in AVI with two N-VOPs (in the second and third GOPs): the probe decodes
    those two GOPs, not the file, and the frames it numbers are those a sequential decode
    shows."""
    path = tmp_path / 'dropped.avi'
    write_file_kind(path, frames, 'mpeg4_avi_dropped', gop=GOP)
    reference = sequential_decode(path)
    with VideoReader(path) as reader:
        assert reader.num_frames == len(reference) == FRAMES - 2
        assert reader.decoded <= 2 * (GOP + 1)  # each GOP and the next keyframe
        np.testing.assert_array_equal(reader.read_frames(range(len(reference))), reference)
