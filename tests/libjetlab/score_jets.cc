// score_jets.cc — a C++ program built against the installed libjetlab
// (pkg-config --cflags --libs jetlab) by tests/sh/test_libjetlab.sh:
//
//   score_jets CKPT.h5 JETS.txt SCORES.csv
//
// JETS.txt is dump_jets.lua's text (N, then per jet its count and pt eta phi E
// of each constituent). Scores every jet with jetlab_score_jets in batches of
// 64 and writes SCORES.csv (index,score, %.9g), then checks, printing one
// "check NAME: ok" or "check NAME: FAIL ..." line each:
//   padded       jetlab_score_padded on all jets at once gives the same scores
//                (within 1e-6)
//   threads      4 threads on the same model plus 2 on a second model score the
//                same batches: bitwise the sequential scores
//   bad inputs   a missing checkpoint, a NULL array, bad offsets, a NaN and an
//                unsorted jet: the right status and a message naming the culprit
// Exit status: 0 when every check passed, 1 otherwise, 2 on a usage error.
#include <jetlab.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Jets {
    std::vector<int64_t> offsets{0};
    std::vector<float> pt, eta, phi, E;
    int64_t count() const { return (int64_t)offsets.size() - 1; }
    int64_t widest() const {
        int64_t w = 1;
        for (int64_t i = 0; i < count(); i++) w = std::max(w, offsets[i + 1] - offsets[i]);
        return w;
    }
};

bool read_jets(const char *path, Jets &jets) {
    std::ifstream in(path);
    int64_t n = 0;
    if (!(in >> n)) return false;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = 0;
        if (!(in >> c)) return false;
        for (int64_t j = 0; j < c; j++) {
            float v[4];
            if (!(in >> v[0] >> v[1] >> v[2] >> v[3])) return false;
            jets.pt.push_back(v[0]);
            jets.eta.push_back(v[1]);
            jets.phi.push_back(v[2]);
            jets.E.push_back(v[3]);
        }
        jets.offsets.push_back(jets.offsets.back() + c);
    }
    return true;
}

const int64_t kBatch = 64;

// Scores batch b (kBatch jets from b * kBatch) of jets into scores.
jetlab_status score_batch(jetlab_model *m, const Jets &jets, int64_t b, std::vector<float> &scores) {
    int64_t first = b * kBatch, n = std::min(kBatch, jets.count() - first);
    std::vector<int64_t> offsets(n + 1);
    int64_t base = jets.offsets[first];
    for (int64_t i = 0; i <= n; i++) offsets[i] = jets.offsets[first + i] - base;
    return jetlab_score_jets(m, n, offsets.data(), &jets.pt[base], &jets.eta[base], &jets.phi[base],
                             &jets.E[base], &scores[first]);
}

int failures = 0;

void check(const char *name, bool ok, const std::string &why) {
    if (ok) {
        std::printf("check %s: ok\n", name);
    } else {
        std::printf("check %s: FAIL %s\n", name, why.c_str());
        failures++;
    }
}

// The status and the message of a call that must fail.
void check_error(const char *name, jetlab_status got, jetlab_status want, const char *needle) {
    std::string msg = jetlab_last_error();
    check(name, got == want && msg.find(needle) != std::string::npos,
          "status " + std::to_string(got) + " (want " + std::to_string(want) + "), message '" + msg +
              "' (want it to name '" + needle + "')");
}

void check_padded(jetlab_model *m, const Jets &jets, const std::vector<float> &ragged) {
    int64_t n = jets.count(), w = jets.widest();
    std::vector<float> pt(n * w), eta(n * w), phi(n * w), E(n * w), scores(n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = jets.offsets[i]; k < jets.offsets[i + 1]; k++) {
            int64_t at = i * w + (k - jets.offsets[i]);
            pt[at] = jets.pt[k], eta[at] = jets.eta[k], phi[at] = jets.phi[k], E[at] = jets.E[k];
        }
    jetlab_status st = jetlab_score_padded(m, n, w, pt.data(), eta.data(), phi.data(), E.data(), scores.data());
    double worst = 0;
    for (int64_t i = 0; i < n && st == JETLAB_OK; i++) worst = std::max(worst, std::fabs((double)scores[i] - ragged[i]));
    check("padded", st == JETLAB_OK && worst <= 1e-6,
          "status " + std::to_string(st) + " " + jetlab_last_error() + ", max difference " + std::to_string(worst));
}

void check_threads(const char *ckpt, jetlab_model *m, const Jets &jets, const std::vector<float> &sequential) {
    jetlab_model *second = nullptr;
    if (jetlab_open(ckpt, &second) != JETLAB_OK) {
        check("threads", false, std::string("second model: ") + jetlab_last_error());
        return;
    }
    int64_t batches = (jets.count() + kBatch - 1) / kBatch;
    std::vector<float> shared(jets.count()), other(jets.count());
    std::vector<int> bad(6, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < 6; t++) {
        jetlab_model *model = t < 4 ? m : second;
        std::vector<float> &out = t < 4 ? shared : other;
        int stride = t < 4 ? 4 : 2, start = t < 4 ? t : t - 4;
        pool.emplace_back([&, model, stride, start, t] {
            for (int64_t b = start; b < batches; b += stride)
                if (score_batch(model, jets, b, out) != JETLAB_OK) bad[t] = 1;
        });
    }
    for (auto &th : pool) th.join();
    jetlab_close(second);
    int failed_calls = 0;
    for (int b : bad) failed_calls += b;
    bool same = std::memcmp(shared.data(), sequential.data(), shared.size() * sizeof(float)) == 0 &&
                std::memcmp(other.data(), sequential.data(), other.size() * sizeof(float)) == 0;
    check("threads", failed_calls == 0 && same,
          std::to_string(failed_calls) + " threads failed, scores " + (same ? "equal" : "differ"));
}

void check_bad_inputs(jetlab_model *m, const Jets &jets) {
    jetlab_model *missing = nullptr;
    check_error("missing checkpoint", jetlab_open("no/such/ckpt.h5", &missing), JETLAB_ERROR_CHECKPOINT,
                "no/such/ckpt.h5");
    check("missing checkpoint: no model", missing == nullptr, "a model was returned");
    float score = 0;
    int64_t offsets[2] = {0, 3};
    const float *pt = jets.pt.data(), *eta = jets.eta.data(), *phi = jets.phi.data(), *E = jets.E.data();
    check_error("NULL eta", jetlab_score_jets(m, 1, offsets, pt, nullptr, phi, E, &score), JETLAB_ERROR_ARGUMENT,
                "eta is NULL");
    check_error("NULL model", jetlab_score_jets(nullptr, 1, offsets, pt, eta, phi, E, &score),
                JETLAB_ERROR_ARGUMENT, "model is NULL");
    int64_t backwards[3] = {0, 3, 1};
    float two[2];
    check_error("offsets going back", jetlab_score_jets(m, 2, backwards, pt, eta, phi, E, two),
                JETLAB_ERROR_ARGUMENT, "offsets[2]");
    float nan_pt[3] = {pt[0], NAN, pt[2]};
    int64_t second_jet[3] = {0, 3, 6};
    float six_pt[6] = {pt[0], pt[1], pt[2], nan_pt[0], nan_pt[1], nan_pt[2]};
    float six_eta[6] = {eta[0], eta[1], eta[2], eta[0], eta[1], eta[2]};
    float six_phi[6] = {phi[0], phi[1], phi[2], phi[0], phi[1], phi[2]};
    float six_E[6] = {E[0], E[1], E[2], E[0], E[1], E[2]};
    check_error("NaN in jet 1", jetlab_score_jets(m, 2, second_jet, six_pt, six_eta, six_phi, six_E, two),
                JETLAB_ERROR_JET, "jet 1: a NaN");
    float unsorted[3] = {pt[2], pt[0], pt[1]};
    check_error("unsorted jet", jetlab_score_jets(m, 1, offsets, unsorted, eta, phi, E, &score), JETLAB_ERROR_JET,
                "jet 0: constituent 1");
    check("scoring after errors", jetlab_score_jets(m, 1, offsets, pt, eta, phi, E, &score) == JETLAB_OK &&
          score >= 0 && score <= 1, jetlab_last_error());
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: score_jets CKPT.h5 JETS.txt SCORES.csv\n");
        return 2;
    }
    Jets jets;
    if (!read_jets(argv[2], jets) || jets.count() == 0 || jets.offsets[1] < 3) {
        std::fprintf(stderr, "score_jets: cannot read %s (or its first jet has < 3 constituents)\n", argv[2]);
        return 2;
    }
    jetlab_model *m = nullptr;
    if (jetlab_open(argv[1], &m) != JETLAB_OK) {
        std::fprintf(stderr, "score_jets: %s\n", jetlab_last_error());
        return 1;
    }
    std::printf("libjetlab %s: %s\n", jetlab_version(), jetlab_describe(m));
    std::vector<float> scores(jets.count());
    for (int64_t b = 0; b * kBatch < jets.count(); b++)
        if (score_batch(m, jets, b, scores) != JETLAB_OK) {
            std::fprintf(stderr, "score_jets: batch %lld: %s\n", (long long)b, jetlab_last_error());
            return 1;
        }
    FILE *out = std::fopen(argv[3], "w");
    if (!out) return 1;
    std::fprintf(out, "index,score\n");
    for (int64_t i = 0; i < jets.count(); i++) std::fprintf(out, "%lld,%.9g\n", (long long)i, scores[i]);
    std::fclose(out);
    std::printf("scored %lld jets\n", (long long)jets.count());

    check_padded(m, jets, scores);
    check_threads(argv[1], m, jets, scores);
    check_bad_inputs(m, jets);
    jetlab_close(m);
    return failures ? 1 : 0;
}
