"""DICOM volumes: multi-frame files and folder series (see ``_dicom``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._dicom import (apply_rescale, dcmread, describe, floats, geometry_meta, has_pixels, is_dicom_file,
                     order_slices, pixels, positive, rescale_of, slice_step)
from ._errors import ImageReadError
from ._image import Image, image_name


def volume_image(path: Path, name: str, raw: np.ndarray, *, positions, iop, numbers, slopes, inters,
                 pixel_spacing, fallback_dz: float, meta: dict, color: bool, cine: bool = False) -> Image:
    """Sort slices, apply the rescale and attach geometry: the common tail."""
    order, proj = order_slices(path, positions, iop, numbers)
    if not np.array_equal(order, np.arange(len(order))):
        raw = raw[order]
    if not color:
        raw = apply_rescale(raw, [slopes[i] for i in order], [inters[i] for i in order])
        if len(set(slopes)) == 1 and len(set(inters)) == 1:
            meta.update(rescale_slope=float(slopes[0]), rescale_intercept=float(inters[0]))
    ps = pixel_spacing
    yx = (float(ps[0]), float(ps[1])) if ps is not None else (1.0, 1.0)
    unit = "millimeter" if ps is not None else "pixel"
    if cine and proj is None:  # a clip in time, not a stack in space
        return Image(raw, "TYXC" if color else "TYX", yx, unit, name, meta)
    dz, extra = slice_step(path, proj, fallback_dz)
    meta.update(extra)
    first = positions[order[0]] if proj is not None else None
    last = positions[order[-1]] if proj is not None else None
    meta.update(geometry_meta(iop, first, last, len(order), (dz, *yx)))
    return Image(raw, "ZYXC" if color else "ZYX", (dz, *yx), unit, name, meta)


def multiframe_image(path: Path, ds, arr: np.ndarray, color: bool) -> Image:
    """Enhanced (functional groups) or classic (e.g. RT dose) multi-frame file."""
    n = arr.shape[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    per = ds.get("PerFrameFunctionalGroupsSequence")
    shared0 = shared[0] if shared else None
    per = list(per) if per is not None and len(per) == n else [None] * n

    pm = _group(shared0, per[0], "PixelMeasuresSequence")
    ps = _first([floats(src.get("PixelSpacing"), 2) for src in (pm, ds) if src is not None])
    orient = _group(shared0, per[0], "PlaneOrientationSequence")
    iop = _first([floats(src.get("ImageOrientationPatient"), 6) for src in (orient, ds) if src is not None])

    positions = []
    for item in per:
        plane = _group(None, item, "PlanePositionSequence")
        positions.append(floats(plane.get("ImagePositionPatient"), 3) if plane is not None else None)
    offsets = ds.get("GridFrameOffsetVector")
    ipp = floats(ds.get("ImagePositionPatient"), 3)
    if all(p is None for p in positions) and offsets is not None and ipp is not None and iop is not None:
        # RT dose: frame planes lie at IPP + offset along the normal
        off = floats(offsets, n)
        if off is not None:
            normal = np.cross(iop[:3], iop[3:])
            positions = [ipp + o * normal for o in off]

    slopes, inters = [], []
    for item in per:
        transform = _group(shared0, item, "PixelValueTransformationSequence")
        slope, inter = rescale_of(ds, transform)
        slopes.append(slope)
        inters.append(inter)
    fallback = _first([positive(src.get(key), None) for src in (pm, ds) if src is not None
                       for key in ("SpacingBetweenSlices", "SliceThickness")]) or 1.0
    cine = "FrameTime" in ds or "FrameTimeVector" in ds
    meta = describe(ds)
    meta["n_files"] = 1
    meta["n_frames"] = n
    if all(p is None for p in positions):
        positions = [None] * n
    return volume_image(path, image_name(path), arr, positions=positions, iop=iop, numbers=list(range(n)),
                        slopes=slopes, inters=inters, pixel_spacing=ps, fallback_dz=fallback, meta=meta,
                        color=color, cine=cine)


def _first(items):
    return next((i for i in items if i is not None), None)


def _group(shared, item, sequence: str):
    """A functional group macro from the per-frame item, else the shared one."""
    for source in (item, shared):
        if source is None:
            continue
        seq = source.get(sequence)
        if seq:
            return seq[0]
    return None


def read_dicom_series(folder: Path, files: list[Path], series: int = 0) -> Image:
    """A folder of DICOM files as one volume (``series``-th series by number).

    Files without pixel data (reports, DICOMDIR) are skipped. Slices must
    agree in size, samples, orientation and pixel spacing.
    """
    headers = []
    for f in files:
        # defer_size: pixel data stays on disk until the slice is stacked
        ds = dcmread(f, defer_size="64 KB", force=not is_dicom_file(f))  # .dcm without preamble
        if has_pixels(ds):
            headers.append((f, ds))
        elif _meant_to_be_image(ds):  # pixel data gone: a cut-short file, not a report
            raise ImageReadError(f, "DICOM image has no pixel data (truncated file?)")
    if not headers:
        raise ImageReadError(folder, "folder has DICOM files but none holds pixel data")
    groups: dict[str, list] = {}
    for f, ds in headers:
        groups.setdefault(str(ds.get("SeriesInstanceUID", "")), []).append((f, ds))
    keys = sorted(groups, key=lambda k: (_number(groups[k][0][1].get("SeriesNumber")), k))
    if not 0 <= series < len(keys):
        raise ImageReadError(folder, f"series {series} does not exist (the folder has {len(keys)} DICOM series)")
    members = groups[keys[series]]
    if len(members) == 1 and int(members[0][1].get("NumberOfFrames", 1) or 1) > 1:
        f, ds = members[0]
        image = multiframe_image(f, ds, pixels(ds, f), int(ds.get("SamplesPerPixel", 1) or 1) > 1)
        image.name = folder.name
        return image
    first = members[0][1]
    _check_consistent(folder, members)
    iop = floats(first.get("ImageOrientationPatient"), 6)
    positions = [floats(ds.get("ImagePositionPatient"), 3) for _, ds in members]
    numbers = [_number(ds.get("InstanceNumber"), None) for _, ds in members]
    order, _ = order_slices(folder, positions, iop, numbers)  # fail before decoding anything
    stack = None
    for i, (f, ds) in enumerate(members):
        arr = pixels(ds, f)
        if stack is None:
            stack = np.empty((len(members), *arr.shape), arr.dtype)
        if arr.shape != stack.shape[1:]:
            raise ImageReadError(f, f"inconsistent series: pixel array {arr.shape}, expected {stack.shape[1:]}")
        if not np.can_cast(arr.dtype, stack.dtype):
            stack = stack.astype(np.result_type(stack.dtype, arr.dtype))
        stack[i] = arr
    rescale = [rescale_of(ds) for _, ds in members]
    meta = describe(first)
    meta["n_files"] = len(members)
    meta["n_series"] = len(keys)
    fallback = positive(first.get("SpacingBetweenSlices"), None) or positive(first.get("SliceThickness"), 1.0)
    return volume_image(folder, folder.name, stack, positions=positions, iop=iop, numbers=numbers,
                        slopes=[r[0] for r in rescale], inters=[r[1] for r in rescale],
                        pixel_spacing=floats(first.get("PixelSpacing"), 2), fallback_dz=fallback,
                        meta=meta, color=int(first.get("SamplesPerPixel", 1) or 1) > 1)


def _meant_to_be_image(ds) -> bool:
    """True unless the SOP class says it is not an image (report, plan, DICOMDIR)."""
    sop = ds.get("SOPClassUID") or getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID")
    name = str(getattr(sop, "name", "")) if sop else ""
    return "Rows" in ds or not name or name == str(sop) or "Image" in name


def _number(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _check_consistent(folder: Path, members) -> None:
    """Every slice like the first in size, samples, orientation, pixel spacing."""
    f0, ds0 = members[0]
    ref = _signature(ds0)
    for f, ds in members[1:]:
        sig = _signature(ds)
        if sig["shape"] != ref["shape"]:
            raise ImageReadError(folder, f"inconsistent series: '{f.name}' is {sig['shape']}, "
                                 f"'{f0.name}' is {ref['shape']}")
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise ImageReadError(folder, f"unsupported series: '{f.name}' is one of several multi-frame files")
        for key, what in (("iop", "orientation"), ("ps", "pixel spacing")):
            a, b = sig[key], ref[key]
            if (a is None) != (b is None) or (a is not None and not np.allclose(a, b, atol=1e-4)):
                raise ImageReadError(folder, f"inconsistent series: '{f.name}' has a different {what} "
                                     f"than '{f0.name}'")


def _signature(ds) -> dict:
    return {"shape": (ds.get("Rows"), ds.get("Columns"), ds.get("SamplesPerPixel", 1)),
            "iop": floats(ds.get("ImageOrientationPatient"), 6), "ps": floats(ds.get("PixelSpacing"), 2)}
