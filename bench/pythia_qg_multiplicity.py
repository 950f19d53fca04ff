"""pythia_qg_multiplicity.py — particle multiplicity of Pythia 8 quark and gluon jets
in the anchors' settings (14 TeV, tune 4C, MPI on, pi0 and weakly decaying B hadrons
stable), to calibrate the built-in generator's fragmentation (core/gen/gen_hadron.c).

One hard process alone (e.g. "HardQCD:qq2qq = on" for quark jets, "HardQCD:gg2gg = on"
for gluon jets), hard pT 480-620 GeV; for each outgoing parton at |y| < 2 the final
particles within ΔR < 1 of an axis started on the parton and re-centred twice on their
pT-weighted centre (a cone, not anti-kt: about 4% fewer particles than jetlab's anti-kt
R = 1.0 jets); jets with cone pT 500-600 GeV count. About 20 s per 1,000 events.

  .venv-pythia/bin/python bench/pythia_qg_multiplicity.py "HardQCD:gg2gg = on" [events (1000)] [seed (5)]
"""
import math
import sys

import pythia8mc

B_HADRONS = (511, 521, 531, 541, 5122, 5132, 5232, 5332)


def dphi(a, b):
    return (a - b + math.pi) % (2 * math.pi) - math.pi


def main():
    process = sys.argv[1]
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    p = pythia8mc.Pythia("", False)
    for s in ["Beams:eCM = 14000", "Tune:pp = 5", "PartonLevel:MPI = on", "PhaseSpace:pTHatMin = 480",
              "PhaseSpace:pTHatMax = 620", "111:mayDecay = off", process, "Random:setSeed = on",
              f"Random:seed = {seed}", "Next:numberCount = 0", "Next:numberShowEvent = 0",
              "Next:numberShowProcess = 0", "Next:numberShowInfo = 0"] + [f"{i}:mayDecay = off" for i in B_HADRONS]:
        p.readString(s)
    p.init()
    total = jets = 0
    for _ in range(events):
        if not p.next():
            continue
        final = [(a.pT(), a.eta(), a.phi()) for a in p.event if a.isFinal() and a.pT() > 0]
        for k in range(p.process.size()):
            a = p.process[k]
            if a.status() != 23 or abs(a.y()) >= 2.0:
                continue
            y, phi = a.eta(), a.phi()
            for _ in range(2):
                cone = [x for x in final if (x[1] - y) ** 2 + dphi(x[2], phi) ** 2 < 1.0]
                pt = sum(x[0] for x in cone)
                y = sum(x[0] * x[1] for x in cone) / pt
                phi += sum(x[0] * dphi(x[2], phi) for x in cone) / pt
            if 500 <= pt < 600:
                total += len(cone)
                jets += 1
    print(f"{process}: {jets} jets, mean multiplicity {total / jets:.1f}")


if __name__ == "__main__":
    main()
