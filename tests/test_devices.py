"""Device choice and memory readings. XPU/CUDA logic runs here on CPU with torch patched."""

from __future__ import annotations

import importlib.metadata
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from lorawiz.core import devices
from lorawiz.core.devices import DeviceInfo, ipex_compatibility, pick_device
from lorawiz.core.errors import DeviceError


def _fake_xpu(
    monkeypatch: pytest.MonkeyPatch, *, bf16_conversions: bool | None, emulated: bool = True
) -> None:
    props: dict[str, Any] = {"name": "Intel(R) Arc(TM) A770 Graphics", "total_memory": 16 * 2**30}
    if bf16_conversions is not None:
        props["has_bfloat16_conversions"] = bf16_conversions
    fake = SimpleNamespace(
        is_available=lambda: True,
        device_count=lambda: 1,
        get_device_properties=lambda index=0: SimpleNamespace(**props),
        # What torch returns by default: emulation counts as support; natively this GPU has none.
        is_bf16_supported=lambda including_emulation=True: emulated and including_emulation,
        max_memory_allocated=lambda index=0: 123_456_789,
        reset_peak_memory_stats=lambda index=0: None,
        mem_get_info=_raise,  # must never be called
    )
    monkeypatch.setattr(torch, "xpu", fake, raising=False)


def _raise(*args: object) -> None:
    raise RuntimeError("mem_get_info is unreliable on XPU and must not be used")


def _fake_cuda(monkeypatch: pytest.MonkeyPatch, *, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda index=0: SimpleNamespace(name="NVIDIA Test", total_memory=8 * 2**30),
    )
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda index=0: 42)


def _no_xpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.xpu, "is_available", lambda: False)


def test_cpu_only_machine_picks_cpu_for_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_xpu(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    found = devices.detect_devices()
    assert [d.kind for d in found] == ["cpu"]
    device = pick_device("auto")
    assert device.kind == "cpu"
    assert device.torch_device == "cpu"
    assert device.bf16 is False
    assert device.total_memory and device.total_memory > 0


@pytest.mark.parametrize("kind", ["xpu", "cuda"])
def test_missing_accelerator_is_a_device_error(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    _no_xpu(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=kind) as info:
        pick_device(kind)
    assert "\n" not in str(info.value)
    assert "available: cpu" in str(info.value)


def test_unknown_device_request() -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        pick_device("tpu")


def test_auto_prefers_xpu_over_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_xpu(monkeypatch, bf16_conversions=True)
    _fake_cuda(monkeypatch, bf16=True)
    assert [d.kind for d in devices.detect_devices()] == ["xpu", "cuda", "cpu"]
    device = pick_device("auto")
    assert device.kind == "xpu"
    assert device.torch_device == "xpu:0"
    assert device.total_memory == 16 * 2**30
    assert pick_device("cuda").kind == "cuda"
    assert pick_device("cpu").kind == "cpu"


def test_auto_takes_cuda_without_xpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_xpu(monkeypatch)
    _fake_cuda(monkeypatch, bf16=False)
    device = pick_device("auto")
    assert device.kind == "cuda"
    assert device.bf16 is False


def test_xpu_bf16_native_comes_from_device_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.xpu.is_bf16_supported() says True by emulation; the property says no conversions.
    _fake_xpu(monkeypatch, bf16_conversions=False, emulated=True)
    assert pick_device("xpu").bf16 is False
    _fake_xpu(monkeypatch, bf16_conversions=True)
    assert pick_device("xpu").bf16 is True


def test_xpu_bf16_without_the_property_asks_torch_without_emulation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_xpu(monkeypatch, bf16_conversions=None, emulated=True)
    # is_bf16_supported(including_emulation=False) -> False in the fake.
    assert pick_device("xpu").bf16 is False


def test_broken_xpu_stack_reads_as_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> bool:
        raise RuntimeError("level zero driver missing")

    monkeypatch.setattr(torch.xpu, "is_available", boom)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").kind == "cpu"


def test_peak_memory_uses_max_memory_allocated_on_xpu(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_xpu(monkeypatch, bf16_conversions=True)
    device = pick_device("xpu")
    devices.reset_peak_memory(device)
    assert devices.peak_memory(device) == 123_456_789


def test_peak_memory_on_cpu_is_rss() -> None:
    cpu = DeviceInfo(kind="cpu", name="cpu", total_memory=None, bf16=False)
    rss = devices.peak_memory(cpu)
    assert rss is not None and rss > 10 * 2**20
    devices.reset_peak_memory(cpu)  # a no-op, must not raise


def test_peak_memory_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_cuda(monkeypatch, bf16=True)
    assert devices.peak_memory(DeviceInfo("cuda", "x", None, True)) == 42


def test_describe_mentions_memory_and_bf16() -> None:
    text = DeviceInfo("xpu", "Arc", 16 * 2**30, True).describe()
    assert text == "xpu:0 (Arc, 16.0 GiB, bf16 yes)"


# ---------------------------------------------------------------------------- IPEX


def _fake_versions(monkeypatch: pytest.MonkeyPatch, versions: dict[str, str]) -> None:
    def version(name: str) -> str:
        if name in versions:
            return versions[name]
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_ipex_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_versions(monkeypatch, {"torch": "2.13.0"})
    status = ipex_compatibility()
    assert not status.used
    assert "not installed" in status.reason


def test_ipex_mismatch_is_never_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_versions(monkeypatch, {"torch": "2.13.0+xpu", "intel-extension-for-pytorch": "2.8.10"})
    imported = []
    monkeypatch.setattr(
        devices.importlib.util, "find_spec", lambda name: imported.append(name) or None
    )
    status = devices.load_ipex(DeviceInfo("xpu", "Arc", None, True))
    assert not status.used
    assert "2.8" in status.reason and "2.13.0+xpu" in status.reason
    assert imported == []  # decided from metadata alone, before any import attempt


def test_ipex_matching_version_is_compatible(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_versions(monkeypatch, {"torch": "2.8.0+xpu", "intel-extension-for-pytorch": "2.8.10+xpu"})
    assert ipex_compatibility().used


def test_ipex_only_matters_on_xpu() -> None:
    status = devices.load_ipex(DeviceInfo("cpu", "cpu", None, False))
    assert not status.used and "Intel GPU" in status.reason
