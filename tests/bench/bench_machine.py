"""Facts about this machine and build, shared by the benchmark report writers."""
import os
import platform
import re
import subprocess


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return ""


def machine(build, optuna_version):
    """One line: CPU, cores, memory, OS, compiler and build type, Python and Optuna."""
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor()
    cache = {}
    try:
        for line in open(os.path.join(build, "CMakeCache.txt")):
            m = re.match(r"(CMAKE_BUILD_TYPE|CMAKE_CXX_COMPILER):\w+=(.*)", line)
            if m:
                cache[m.group(1)] = m.group(2)
    except OSError:
        pass
    compiler = sh(f"{cache.get('CMAKE_CXX_COMPILER', 'c++')} --version | head -1")
    build_type = cache.get("CMAKE_BUILD_TYPE") or "RelWithDebInfo"  # the project's default
    mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    return (f"{cpu}, {os.cpu_count()} cores, {mem} GiB; "
            f"{sh('. /etc/os-release; echo $PRETTY_NAME')}, Linux {platform.release()}; "
            f"{compiler}, {build_type}; "
            f"Python {platform.python_version()}, Optuna {optuna_version}")
