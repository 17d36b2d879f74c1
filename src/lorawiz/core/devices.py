"""Which device trains: an Intel GPU (xpu) first, then CUDA, then the CPU.

Everything here reads torch lazily, so importing this module costs nothing. Memory is read only
through `max_memory_allocated` (XPU/CUDA) or the process RSS (CPU): `mem_get_info` can raise or
lie on some XPU drivers, so nothing depends on it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from typing import Any, Literal

from lorawiz.core.errors import DeviceError

DeviceKind = Literal["xpu", "cuda", "cpu"]
REQUESTS = ("auto", "xpu", "cuda", "cpu")
_ORDER: tuple[DeviceKind, ...] = ("xpu", "cuda", "cpu")


@dataclass(frozen=True)
class DeviceInfo:
    """One device torch can train on."""

    kind: DeviceKind
    """"xpu", "cuda" or "cpu"."""
    name: str
    """What the driver calls it, e.g. "Intel(R) Arc(TM) A770 Graphics"."""
    total_memory: int | None
    """Bytes of device memory (system memory for the CPU); None when unknown."""
    bf16: bool
    """bfloat16 runs natively (not emulated): QLoRA computes in bf16 when true, else fp32."""
    index: int = 0
    """Which of several devices of this kind."""

    @property
    def torch_device(self) -> str:
        """The string torch takes: "xpu:0", "cuda:0" or "cpu"."""
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    def describe(self) -> str:
        memory = f", {self.total_memory / 2**30:.1f} GiB" if self.total_memory else ""
        return f"{self.torch_device} ({self.name}{memory}, bf16 {'yes' if self.bf16 else 'no'})"


def _xpu_available(torch: Any) -> bool:
    xpu = getattr(torch, "xpu", None)
    try:
        return bool(xpu is not None and xpu.is_available())
    except Exception:  # a broken driver stack reads as "no XPU", never as a crash
        return False


def _cuda_available(torch: Any) -> bool:
    try:
        return bool(torch.cuda.is_available())
    except Exception:
        return False


def _xpu_bf16_native(torch: Any, index: int, props: Any) -> bool:
    # torch.xpu.is_bf16_supported() counts emulation as support; the device properties say
    # whether the hardware converts bf16 itself.
    for attr in ("has_bfloat16_conversions", "has_bf16"):
        value = getattr(props, attr, None)
        if value is not None:
            return bool(value)
    try:
        return bool(torch.xpu.is_bf16_supported(including_emulation=False))
    except Exception:
        return False


def _xpu_devices(torch: Any) -> list[DeviceInfo]:
    found = []
    for index in range(int(torch.xpu.device_count())):
        props = torch.xpu.get_device_properties(index)
        memory = getattr(props, "total_memory", None)
        found.append(
            DeviceInfo(
                kind="xpu",
                name=str(getattr(props, "name", "Intel GPU")),
                total_memory=int(memory) if memory else None,
                bf16=_xpu_bf16_native(torch, index, props),
                index=index,
            )
        )
    return found


def _cuda_devices(torch: Any) -> list[DeviceInfo]:
    found = []
    for index in range(int(torch.cuda.device_count())):
        props = torch.cuda.get_device_properties(index)
        try:
            bf16 = bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # older torch without the keyword
            bf16 = bool(torch.cuda.is_bf16_supported())
        memory = getattr(props, "total_memory", None)
        found.append(
            DeviceInfo(
                kind="cuda",
                name=str(getattr(props, "name", "CUDA GPU")),
                total_memory=int(memory) if memory else None,
                bf16=bf16,
                index=index,
            )
        )
    return found


def _cpu_device() -> DeviceInfo:
    import platform

    import psutil

    name = platform.processor() or platform.machine() or "CPU"
    # bf16 on CPU is emulated on most machines; fp32 compute is the safe, fast default.
    return DeviceInfo(
        kind="cpu", name=name, total_memory=int(psutil.virtual_memory().total), bf16=False
    )


def detect_devices() -> list[DeviceInfo]:
    """Every device torch can use here, in the order `auto` prefers them (the CPU is last)."""
    import torch

    found: list[DeviceInfo] = []
    if _xpu_available(torch):
        found.extend(_xpu_devices(torch))
    if _cuda_available(torch):
        found.extend(_cuda_devices(torch))
    found.append(_cpu_device())
    return found


def pick_device(requested: str = "auto") -> DeviceInfo:
    """The device a session's `train.device` names; DeviceError when it is not here."""
    if requested not in REQUESTS:
        raise DeviceError(f"unknown device {requested!r}; use one of {', '.join(REQUESTS)}")
    devices = detect_devices()
    if requested == "auto":
        return min(devices, key=lambda d: _ORDER.index(d.kind))
    for device in devices:
        if device.kind == requested:
            return device
    hint = {
        "xpu": "no Intel GPU is visible to torch (is this the XPU build of torch, and the driver "
        "installed?)",
        "cuda": "no CUDA GPU is visible to torch (is this a CUDA build of torch?)",
    }[requested]
    available = ", ".join(sorted({d.kind for d in devices}))
    raise DeviceError(f"device {requested!r} asked for, but {hint}; available: {available}")


def reset_peak_memory(device: DeviceInfo) -> None:
    """Start a fresh peak-memory reading (a no-op on the CPU)."""
    import torch

    if device.kind == "cpu":
        return
    module = getattr(torch, device.kind)
    with contextlib.suppress(Exception):
        module.reset_peak_memory_stats(device.index)


def peak_memory(device: DeviceInfo) -> int | None:
    """Peak bytes allocated on the device so far, or this process's RSS on the CPU."""
    if device.kind == "cpu":
        import psutil

        return int(psutil.Process().memory_info().rss)
    import torch

    module = getattr(torch, device.kind)
    try:
        return int(module.max_memory_allocated(device.index))
    except Exception:
        return None


# ---------------------------------------------------------------------------- IPEX


@dataclass(frozen=True)
class IpexStatus:
    """Whether intel-extension-for-pytorch is used, and why (not)."""

    used: bool
    reason: str


def _major_minor(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def ipex_compatibility(torch_version: str | None = None) -> IpexStatus:
    """Whether IPEX may be imported, decided from package versions alone.

    Importing a mismatched IPEX kills the process, so this never imports it.
    `used` here means "compatible and installed"; `load_ipex` does the import.
    """
    try:
        ipex_version = importlib.metadata.version("intel-extension-for-pytorch")
    except importlib.metadata.PackageNotFoundError:
        return IpexStatus(False, "intel-extension-for-pytorch is not installed (not needed)")
    if torch_version is None:
        try:
            torch_version = importlib.metadata.version("torch")
        except importlib.metadata.PackageNotFoundError:
            return IpexStatus(False, "torch is not installed")
    if _major_minor(ipex_version) != _major_minor(torch_version):
        return IpexStatus(
            False,
            f"intel-extension-for-pytorch {ipex_version} is built for torch "
            f"{'.'.join(map(str, _major_minor(ipex_version)))}, but torch is {torch_version}; "
            "not imported (torch's own XPU support is used)",
        )
    return IpexStatus(True, f"intel-extension-for-pytorch {ipex_version} matches torch")


def load_ipex(device: DeviceInfo) -> IpexStatus:
    """Import IPEX for an XPU run when it is installed and matches torch; say what happened."""
    if device.kind != "xpu":
        return IpexStatus(False, "only used on Intel GPUs")
    status = ipex_compatibility()
    if not status.used:
        return status
    if importlib.util.find_spec("intel_extension_for_pytorch") is None:
        return IpexStatus(False, "intel-extension-for-pytorch metadata found but not importable")
    try:
        import intel_extension_for_pytorch  # noqa: F401
    except Exception as exc:
        return IpexStatus(False, f"intel-extension-for-pytorch failed to import: {exc}")
    return status
