"""How the local stack runs a function binary: natively when it is built for this machine's CPU,
else under Debian's qemu-user. This is what lets the e2e tests run the arm64 `bootstrap` that
`sam build` makes and Lambda runs (scripts/sam-build) on an x86_64 machine:

    qemu-aarch64 -L /usr/aarch64-linux-gnu target/sam/GateFunction/bootstrap

`-L` points qemu at the aarch64 loader and C library (Debian's libc6-arm64-cross), since the
bootstrap is linked against glibc dynamically. scripts/arm64-env installs both packages. The
CPU is read from the binary's ELF header (e_machine), so nothing has to be told which it is.
"""

from __future__ import annotations

import platform
import shutil
import struct
import sys
from pathlib import Path

# ELF e_machine values (the System V ABI's registry) and the names `uname -m` gives those CPUs.
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}
EMULATORS = {"aarch64": ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]}
INSTALLERS = {"aarch64": "scripts/arm64-env"}


def elf_machine(binary: str | Path) -> str | None:
    """The CPU an ELF executable is built for (`uname -m` style), or None for anything else (a
    script, an unknown CPU)."""
    with open(binary, "rb") as file:
        head = file.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    byte_order = "<" if head[5] == 1 else ">"  # EI_DATA: 1 little-endian, 2 big-endian
    return ELF_MACHINES.get(struct.unpack_from(byte_order + "H", head, 18)[0])


def function_command(binary: str | Path, host: str | None = None) -> list[str]:
    """The command that runs `binary` here: the binary itself, or the emulator that runs it."""
    machine = elf_machine(binary)
    host = host or platform.machine()
    if machine is None or machine == host:
        return [str(binary)]
    if machine not in EMULATORS:
        raise RuntimeError(f"{binary} is built for {machine} and this machine is {host}: no emulator for it")
    emulator = EMULATORS[machine]
    if shutil.which(emulator[0]) is None or not Path(emulator[2]).is_dir():
        raise RuntimeError(f"{binary} is built for {machine}; running it on {host} needs {emulator[0]} and "
                           f"{emulator[2]}: {INSTALLERS[machine]} installs them from Debian's packages")
    return [*emulator, str(binary)]


if __name__ == "__main__":
    # `python -m local.emulation BINARY`: prints the CPU a binary is built for ("" if not an ELF).
    print(elf_machine(sys.argv[1]) or "")
