"""The official annotation files of video collections: UCF101 lists, HMDB51 split files and
Kinetics-style CSVs, parsed into (video path, label) entries and the lines that are not."""
import csv
from pathlib import Path

from mm_ssl.errors import ConfigError, DataError

from ..text_io import read_text
from ..video_io import video_error

__all__ = ['read_annotations', 'infer_format']


def _bad_entry(ann, line_no, detail):
    return video_error(f'{ann}:{line_no}', 'bad_entry', detail)


def _read_lines(path):
    if not path.is_file():
        raise DataError(f'{path}: missing annotation file')
    return [(i, line.strip()) for i, line in enumerate(read_text(path).splitlines(), 1)
            if line.strip()]


def read_annotations(ann_format, ann_path, split=None, fold=1, classes=None,
                     name_template='{label}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4'):
    """Parse an official annotation file into ``(entries, classes, bad)``.

    ``entries`` are ``(video path relative to the video folder, label index or -1)``; ``bad``
    are the :class:`DataError` of unreadable lines (each naming ``file:line``), for the caller
    to raise or skip.

    Formats:
        ucf101: ``ann_path`` is ``trainlist0N.txt`` (``path label``, label 1-based) or
            ``testlist0N.txt`` (``path``; the label comes from the folder name), with
            ``classInd.txt`` (``index name``) beside it.
        hmdb51: ``ann_path`` is the folder of ``<class>_test_split<fold>.txt`` files
            (``video tag``; tag 1 = train, 2 = test, 0 = unused); ``split`` picks the tag;
            videos are ``<class>/<video>``.
        kinetics: a CSV with columns ``label,youtube_id,time_start,time_end,split`` (``label``
            may be missing in test CSVs); rows whose ``split`` differs from ``split`` (when
            given) are left out; paths follow ``name_template``; classes are the sorted labels
            unless ``classes`` (a list or a file with one name a line) fixes them.
    """
    ann_path, bad, entries = Path(ann_path), [], []
    if ann_format == 'ucf101':
        class_file = ann_path.parent / 'classInd.txt'
        class_lines = _read_lines(class_file)
        try:
            ordered = sorted((int(i), name) for _, (i, name) in
                             ((n, line.split()) for n, line in class_lines))
        except ValueError as exc:
            raise DataError(f'{class_file}: not a UCF101 classInd.txt ("index name" lines): '
                            f'{exc}') from exc
        classes = [name for _, name in ordered]
        for n, line in _read_lines(ann_path):
            fields = line.split()
            folder = fields[0].split('/')[0]
            if len(fields) == 2 and fields[1].isdigit() and 1 <= int(fields[1]) <= len(classes):
                entries.append((fields[0], int(fields[1]) - 1))
            elif len(fields) == 1 and folder in classes and '/' in fields[0]:
                entries.append((fields[0], classes.index(folder)))
            else:
                bad.append(_bad_entry(ann_path, n, f'expected "<Class>/<video> [1..'
                                      f'{len(classes)}]", got {line!r}'))
    elif ann_format == 'hmdb51':
        tags = dict(train='1', test='2', unused='0')
        if split not in tags:
            raise ConfigError(f"hmdb51 annotations need split 'train', 'test' or 'unused', "
                              f'got {split!r}')
        files = sorted(ann_path.glob(f'*_test_split{fold}.txt'))
        if not files:
            raise DataError(f'{ann_path}: no *_test_split{fold}.txt files (expected the folder '
                            'of HMDB51 split files, e.g. testTrainMulti_7030_splits)')
        classes = [f.name[:-len(f'_test_split{fold}.txt')] for f in files]
        for label, f in enumerate(files):
            for n, line in _read_lines(f):
                fields = line.split()
                if len(fields) != 2 or fields[1] not in tags.values():
                    bad.append(_bad_entry(f, n, f'expected "<video> 0|1|2", got {line!r}'))
                elif fields[1] == tags[split]:
                    entries.append((f'{classes[label]}/{fields[0]}', label))
    elif ann_format == 'kinetics':
        rows = _read_lines(ann_path)
        header = [c.strip() for c in next(csv.reader([rows[0][1]]))] if rows else []
        if not {'youtube_id', 'time_start', 'time_end'} <= set(header):
            raise DataError(f'{ann_path}: not a Kinetics CSV (header must name youtube_id, '
                            f'time_start, time_end; got {header})')
        records = []
        for n, line in rows[1:]:
            values = next(csv.reader([line]))
            if len(values) != len(header):
                bad.append(_bad_entry(ann_path, n, f'{len(values)} fields, the header has '
                                      f'{len(header)}: {line!r}'))
                continue
            row = dict(zip(header, (v.strip() for v in values)))
            if split is None or row.get('split', split) == split:
                records.append((n, row))
        if isinstance(classes, (str, Path)):
            classes = [c for _, c in _read_lines(Path(classes))]
        classes = list(classes) if classes is not None else sorted(
            {row['label'] for _, row in records if row.get('label')})
        for n, row in records:
            try:
                name = name_template.format(**dict(
                    row, time_start=int(float(row['time_start'])),
                    time_end=int(float(row['time_end']))))
            except (KeyError, ValueError) as exc:
                bad.append(_bad_entry(ann_path, n, f'cannot make a file name from {row} '
                                      f'({exc!r})'))
                continue
            label = row.get('label')
            if label and label not in classes:
                bad.append(_bad_entry(ann_path, n, f'label {label!r} is not among the classes'))
                continue
            entries.append((name, classes.index(label) if label else -1))
    else:
        raise ConfigError(f"ann_format must be 'ucf101', 'hmdb51' or 'kinetics', "
                          f'got {ann_format!r}')
    return entries, classes, bad


def infer_format(ann_file):
    name = Path(ann_file).name
    if name.endswith('.csv'):
        return 'kinetics'
    if name.startswith(('trainlist', 'testlist')):
        return 'ucf101'
    raise ConfigError(f'{ann_file}: cannot tell the annotation format from the name; set '
                      "ann_format='ucf101', 'hmdb51' or 'kinetics'")
