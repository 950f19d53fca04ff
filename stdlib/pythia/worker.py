"""Pythia 8 worker for `jetlab gen --engine pythia`: runs Pythia and streams the
visible final-state particles of fixed-size blocks of events on stdout. jetlab
(stdlib/jetlab/pythia/) clusters them and writes the jets.

    python worker.py --seed S --first F --stride W --events E [--truth top|w] --setting "Tune:pp = 5" ...

Generates blocks F, F + W, F + 2W, ... until killed. Pythia is initialised once
(Random:seed = S); each block runs in a forked copy of that initialised state,
reseeded with block_seed(S, b), so a block's events depend on (settings, S, b,
E) only, never on which worker made it or what it made before.

Output, text, GeV:
    pid <worker pid>
    block <b> <E>
    event <n>            (E times: n visible final-state particles follow)
    <px> <py> <pz> <E>   (n lines)
    truth <k>            (with --truth: after each event's particles, its
    <group> <y> <phi>    resonances' decay quarks: b, q, q' of each top or q, q'
                         of each W, as they come out of the decay; group numbers
                         the resonance, 1, 2, ...)

Pythia's own printout goes to stderr. SIGTERM or SIGINT ends the worker and the
block being made.
"""
import argparse
import os
import queue
import signal
import sys
import threading

INVISIBLE = {12, 14, 16}  # neutrinos
MAX_FAILURES = 100  # pythia.next() failures allowed per block
child = None  # the pid of the forked child making a block, while there is one


def block_seed(seed, block):
    """Pythia accepts seeds in 1..900000000."""
    return 1 + (seed * 1000003 + block * 7919) % 900000000


def init_pythia(settings, seed):
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in settings + ["Print:quiet = on", "Next:numberCount = 0", "Random:setSeed = on",
                            "Random:seed = %d" % block_seed(seed, -1)]:
        if not pythia.readString(line):
            sys.exit("pythia worker: Pythia rejects the setting '%s'" % line)
    if not pythia.init():
        sys.exit("pythia worker: Pythia's initialisation failed (settings: %s)" % "; ".join(settings))
    return pythia


def event_text(event):
    rows = []
    for i in range(event.size()):
        p = event[i]
        if p.isFinal() and p.idAbs() not in INVISIBLE:
            rows.append("%.10g %.10g %.10g %.10g\n" % (p.px(), p.py(), p.pz(), p.e()))
    return "event %d\n%s" % (len(rows), "".join(rows))


def quark_daughters(event, i):
    """The quarks a resonance decays to, from its last copy (Pythia's status -23 daughters)."""
    last = event[i].iBotCopyId()
    return [d for d in event[last].daughterList() if 1 <= event[d].idAbs() <= 5]


def decay_groups(event, truth):
    """The decay quarks of each top (b, q, q') or W (q, q') of the hard process, as index lists."""
    groups = []
    for i in range(event.size()):
        p = event[i]
        if p.idAbs() != (6 if truth == "top" else 24) or p.iBotCopyId() != i:
            continue
        if truth == "top":
            ds = p.daughterList()
            bs = [d for d in ds if event[d].idAbs() == 5]
            ws = [d for d in ds if event[d].idAbs() == 24]
            if len(bs) == 1 and len(ws) == 1:
                groups.append(bs + quark_daughters(event, ws[0]))
        else:
            groups.append(quark_daughters(event, i))
    return [g for g in groups if len(g) == (3 if truth == "top" else 2)]


def truth_text(event, truth):
    rows = ["%d %.10g %.10g\n" % (g + 1, event[i].y(), event[i].phi())
            for g, group in enumerate(decay_groups(event, truth)) for i in group]
    return "truth %d\n%s" % (len(rows), "".join(rows))


def block_text(pythia, seed, block, events, truth):
    pythia.rndm.init(block_seed(seed, block))
    parts, failures = ["block %d %d\n" % (block, events)], 0
    while len(parts) <= events:
        if pythia.next():
            text = event_text(pythia.event)
            parts.append(text + truth_text(pythia.event, truth) if truth else text)
        else:
            failures += 1
            if failures > MAX_FAILURES:
                raise RuntimeError("Pythia failed %d times in block %d" % (failures, block))
    return "".join(parts).encode()


def make_block(pythia, seed, block, events, truth):
    """Runs block_text in a forked child, so the parent's Pythia stays as initialised."""
    global child
    r, w = os.pipe()
    pid = child = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            data = block_text(pythia, seed, block, events, truth)
            with os.fdopen(w, "wb") as out:
                out.write(data)
        except Exception as e:
            print("pythia worker: %s" % e, file=sys.stderr)
            code = 1
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as src:
        data = src.read()
    _, status = os.waitpid(pid, 0)
    child = None
    if status != 0:
        sys.exit("pythia worker: block %d failed" % block)
    return data


def stop(*_):
    """Ends the worker and its child at once (on a signal, or when jetlab stops reading)."""
    if child:
        os.kill(child, signal.SIGKILL)
    os._exit(0)


def writer(out, blocks):
    """Writes finished blocks while the next one is made (jetlab reads them in block order)."""
    try:
        while True:
            out.write(blocks.get())
            out.flush()
    except OSError:
        stop()


def main():
    ap = argparse.ArgumentParser(description="Pythia 8 worker for jetlab gen --engine pythia")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--first", type=int, required=True, help="first block")
    ap.add_argument("--stride", type=int, required=True, help="blocks between this worker's blocks")
    ap.add_argument("--events", type=int, required=True, help="events per block")
    ap.add_argument("--truth", choices=["top", "w"], help="also write the decay quarks of each top or W")
    ap.add_argument("--setting", action="append", default=[], help="a Pythia setting line")
    a = ap.parse_args()

    # fd 1 carries the data; C++ printout of Pythia goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    out.write(b"pid %d\n" % os.getpid())
    out.flush()
    pythia = init_pythia(a.setting, a.seed)

    blocks = queue.Queue(maxsize=1)
    threading.Thread(target=writer, args=(out, blocks), daemon=True).start()
    block = a.first
    while True:
        blocks.put(make_block(pythia, a.seed, block, a.events, a.truth))
        block += a.stride


if __name__ == "__main__":
    main()
