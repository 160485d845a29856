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


def machine(build, peer=None):
    """One line: CPU, cores, memory, OS, compiler and build type, Python, and
    the peer measured beside Orchard (e.g. "Optuna 3.1.0") when given."""
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
            f"Python {platform.python_version()}" + (f", {peer}" if peer else ""))


def write_results(repo, name, heading, results):
    """Puts `results` between the <!-- NAME:results:begin/end --> markers of
    docs/benchmarks.md, or appends a section `heading` holding them."""
    doc = os.path.join(repo, "docs", "benchmarks.md")
    begin, end = f"<!-- {name}:results:begin -->", f"<!-- {name}:results:end -->"
    try:
        text = open(doc).read()
    except FileNotFoundError:
        text = ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n" + results + "\n" + end + tail
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmarks\n\n") + \
            f"## {heading}\n\n" + begin + "\n" + results + "\n" + end + "\n"
    with open(doc, "w") as f:
        f.write(text)
    print(f"\nwrote the results into {doc}")
