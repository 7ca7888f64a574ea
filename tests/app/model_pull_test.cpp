// `models pull` against a model hub on the loopback address
// (hub_test_server.h): a complete pull, resuming, checksums, the hub's error
// answers, stalls, a full disk, and what the models folder shows after each.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "app/session/model_hub.h"
#include "app/session/model_store.h"
#include "base/error.h"
#include "tests/app/hub_test_server.h"

namespace fs = std::filesystem;
using sc::app::HubFile;
using sc::app::HubRepo;
using sc::test::HubTestServer;

namespace {

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";
const std::string kCommit2 = "fedcba9876543210fedcba9876543210fedcba98";

std::string blob(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = char(x >> 24);
  }
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sc_pull_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A small diffusers-style repository: what is taken and what is not.
HubTestServer::Repo tiny_repo(const std::string& name = "tiny/pipe") {
  HubTestServer::Repo r;
  r.name = name;
  r.commit = kCommit;
  r.files = {
      {"model_index.json", R"({"_class_name": "StableDiffusionPipeline"})"},
      {"README.md", "# tiny\n"},
      {".gitattributes", "*.safetensors filter=lfs\n"},
      {"tiny.safetensors", blob(5000, 9), true},  // a single-file checkpoint beside a pipeline: not taken
      {"unet/config.json", R"({"sample_size": 8})"},
      {"unet/diffusion_pytorch_model.safetensors", blob(300000, 1), true},
      {"unet/diffusion_pytorch_model.fp16.safetensors", blob(150000, 2), true},
      {"unet/diffusion_pytorch_model.bin", blob(3000, 3), true},
      {"text_encoder/config.json", R"({"hidden_size": 4})"},
      {"text_encoder/model.fp16.safetensors", blob(70000, 4), true},
      {"tokenizer/vocab.json", R"({"a": 0})"},
      {"tokenizer/merges.txt", "#version: 0.2\n"},
      {"vae/config.json", R"({"latent_channels": 4})"},
      {"vae/diffusion_pytorch_model.fp16.safetensors", blob(90000, 5), true},
      {"onnx/unet/model.onnx", blob(2000, 6), true},
      {"images/sample.png", blob(100, 7)},
  };
  return r;
}

const std::set<std::string> kTinyFp16 = {"model_index.json",         "README.md",
                                         "unet/config.json",         "unet/diffusion_pytorch_model.fp16.safetensors",
                                         "text_encoder/config.json", "text_encoder/model.fp16.safetensors",
                                         "tokenizer/vocab.json",     "tokenizer/merges.txt",
                                         "vae/config.json",          "vae/diffusion_pytorch_model.fp16.safetensors"};

sc::app::PullRequest request_for(const HubTestServer& hub, const std::string& what, const fs::path& models) {
  sc::app::PullRequest r;
  r.what = what;
  r.models_dir = models.string();
  r.hub.endpoint = hub.endpoint();
  r.hub.token.clear();
  r.hub.retries = 0;
  r.hub.retry_delay_s = 0.05;
  r.hub.stall_timeout_s = 2;
  r.hub.connect_timeout_s = 5;
  return r;
}

std::set<std::string> files_below(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).string());
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sc::Error& e) {
    return e.what();
  }
  return "";
}

std::size_t count_requests(const HubTestServer& hub, const std::string& needle, std::string* range = nullptr) {
  std::size_t n = 0;
  for (const auto& r : hub.requests())
    if (r.target.find(needle) != std::string::npos) {
      ++n;
      if (range && !r.range.empty()) *range = r.range;
    }
  return n;
}

}  // namespace

TEST(ModelHub, DigestsMatchKnownValues) {
  EXPECT_EQ(sc::app::sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sc::app::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // `git hash-object` of a file holding "hello\n".
  EXPECT_EQ(sc::app::git_blob_oid("hello\n", 6), "ce013625030ba8dba906f756967f9e9ca394464a");
  TempDir t;
  std::ofstream(t.path / "abc") << "abc";
  EXPECT_EQ(sc::app::sha256_of_file(t.path / "abc"), sc::app::sha256_hex("abc", 3));
}

TEST(ModelHub, TheFileListIsCheckedBeforeAnythingIsWritten) {
  const auto ok =
      sc::app::parse_repo_info(R"({"sha":"abc123","siblings":[{"rfilename":"a/b.json","size":3,"blobId":"x"},)"
                               R"({"rfilename":"w.safetensors","size":1,"lfs":{"sha256":"s","size":10}}]})",
                               "o/n", "main");
  ASSERT_EQ(ok.files.size(), 2u);
  EXPECT_EQ(ok.commit, "abc123");
  EXPECT_EQ(ok.files[1].size, 10);  // the LFS size is the file's
  EXPECT_EQ(ok.files[1].sha256, "s");
  for (const char* bad : {R"({"sha":"abc","siblings":[{"rfilename":"../evil","size":1}]})",
                          R"({"sha":"abc","siblings":[{"rfilename":"/etc/passwd","size":1}]})",
                          R"({"sha":"abc","siblings":[{"rfilename":"a//b","size":1}]})",
                          R"({"sha":"abc","siblings":[{"rfilename":"a/./b","size":1}]})"}) {
    const std::string e = error_of([&] { sc::app::parse_repo_info(bad, "o/n", "main"); });
    EXPECT_NE(e.find("unsafe path"), std::string::npos) << bad << " -> " << e;
  }
  EXPECT_NE(error_of([] { sc::app::parse_repo_info("<html>", "o/n", "main"); }).find("not JSON"), std::string::npos);
  EXPECT_NE(error_of([] { sc::app::parse_repo_info(R"({"siblings":[]})", "o/n", "main"); }).find("commit"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              sc::app::parse_repo_info(R"({"sha":"ab","siblings":[{"rfilename":"x"}]})", "o/n", "main");
            }).find("no size"),
            std::string::npos);
}

TEST(ModelStore, OnlyTheFilesTheStudioReadsAreSelected) {
  HubRepo repo;
  repo.repo = "tiny/pipe";
  repo.revision = "main";
  for (const auto& f : tiny_repo().files) repo.files.push_back({f.path, std::int64_t(f.content.size()), "", ""});
  std::set<std::string> got;
  for (const HubFile& f : sc::app::select_model_files(repo, nullptr)) got.insert(f.path);
  EXPECT_EQ(got, kTinyFp16);

  // Full precision: the plain weights where both exist, the fp16 ones where only they do.
  got.clear();
  for (const HubFile& f : sc::app::select_model_files(repo, nullptr, "none")) got.insert(f.path);
  EXPECT_TRUE(got.count("unet/diffusion_pytorch_model.safetensors"));
  EXPECT_FALSE(got.count("unet/diffusion_pytorch_model.fp16.safetensors"));
  EXPECT_TRUE(got.count("text_encoder/model.fp16.safetensors"));

  // Sharded weights with a variant index; a subfolder taken to the top (Ditto's layout).
  HubRepo sharded;
  sharded.repo = "o/llm";
  sharded.revision = "main";
  for (const char* p : {"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                        "model.safetensors.index.json", "model.fp16-00001-of-00002.safetensors",
                        "model.fp16-00002-of-00002.safetensors", "model.safetensors.index.fp16.json",
                        "pytorch_model.bin", "tokenizer.json", "chat_template.jinja", "LICENSE"})
    sharded.files.push_back({p, 10, "", ""});
  got.clear();
  for (const HubFile& f : sc::app::select_model_files(sharded, nullptr)) got.insert(f.path);
  EXPECT_EQ(got, (std::set<std::string>{"config.json", "model.fp16-00001-of-00002.safetensors",
                                        "model.fp16-00002-of-00002.safetensors", "model.safetensors.index.fp16.json",
                                        "tokenizer.json", "chat_template.jinja", "LICENSE"}));

  const sc::app::CatalogEntry* ditto = sc::app::find_catalog_entry("ditto");
  ASSERT_NE(ditto, nullptr);
  HubRepo d;
  d.repo = ditto->repo;
  d.revision = "main";
  for (const std::string& r : ditto->required) d.files.push_back({"ditto_onnx/" + r, 10, "", ""});
  d.files.push_back({"ditto_cfg/v0.4_hubert_cfg_trt_online.pkl", 10, "", ""});
  d.files.push_back({"ditto_trt_Ampere_Plus/decoder_fp16.engine", 10, "", ""});
  d.files.push_back({"ditto_pytorch/models/decoder.pth", 10, "", ""});
  const auto dfiles = sc::app::select_model_files(d, ditto);
  EXPECT_EQ(dfiles.size(), ditto->required.size());
  for (const HubFile& f : dfiles) EXPECT_EQ(f.path.rfind("ditto_onnx/", 0), 0u) << f.path;

  // Pickles only: refused, saying why.
  HubRepo pickles;
  pickles.repo = "o/old";
  pickles.revision = "main";
  pickles.files = {{"config.json", 5, "", ""}, {"pytorch_model.bin", 5, "", ""}};
  const std::string e = error_of([&] { sc::app::select_model_files(pickles, nullptr); });
  EXPECT_NE(e.find("pickles"), std::string::npos) << e;
  // A known model without the files it needs: named.
  HubRepo half;
  half.repo = "stabilityai/sd-turbo";
  half.revision = "main";
  half.files = {{"model_index.json", 5, "", ""},
                {"unet/config.json", 5, "", ""},
                {"unet/diffusion_pytorch_model.safetensors", 5, "", ""}};
  const std::string e2 = error_of([&] { sc::app::select_model_files(half, sc::app::find_catalog_entry("sd-turbo")); });
  EXPECT_NE(e2.find("lacks text_encoder/config.json, tokenizer/vocab.json, vae/config.json"), std::string::npos) << e2;
}

TEST(ModelPull, ACompletePullHasEveryFileCheckedAndNothingElse) {
  HubTestServer hub;
  hub.set_repo(tiny_repo());
  TempDir t;
  auto req = request_for(hub, "tiny/pipe", t.path);
  req.hub.token = "hf_secret";
  req.hub.jobs = 3;
  int reports = 0;
  const auto r = sc::app::pull_model(
      req,
      [&](const sc::app::DownloadProgress& p) {
        ++reports;
        EXPECT_LE(p.done, p.total);
      },
      nullptr);
  EXPECT_GT(reports, 0);
  EXPECT_EQ(r.name, "tiny--pipe");
  EXPECT_EQ(r.commit, kCommit);
  EXPECT_EQ(r.path, t.path / "tiny--pipe");
  EXPECT_FALSE(r.up_to_date);
  EXPECT_EQ(r.files, kTinyFp16.size());

  std::set<std::string> want = kTinyFp16;
  want.insert(".streamcanvas-model.json");
  EXPECT_EQ(files_below(r.path), want);
  for (const auto& f : tiny_repo().files) {
    if (kTinyFp16.count(f.path)) {
      EXPECT_EQ(read_file(r.path / f.path), f.content) << f.path;
    }
  }
  // Nothing is left beside it: no staging folder, no .part files.
  EXPECT_EQ(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()), 1);
  // The token went to the hub; files were fetched at the resolved commit.
  for (const auto& q : hub.requests()) {
    if (q.target.rfind("/cdn/", 0) != 0) {
      EXPECT_EQ(q.authorization, "Bearer hf_secret") << q.target;
    }
  }
  EXPECT_EQ(count_requests(hub, "/resolve/" + kCommit + "/unet/diffusion_pytorch_model.fp16.safetensors"), 1u);
  EXPECT_EQ(count_requests(hub, ".bin"), 0u);

  const auto marker = nlohmann::json::parse(read_file(r.path / ".streamcanvas-model.json"));
  EXPECT_EQ(marker["repo"], "tiny/pipe");
  EXPECT_EQ(marker["commit"], kCommit);
  EXPECT_EQ(marker["files"].size(), kTinyFp16.size());

  const auto list = sc::app::list_models(t.path);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].complete);
  EXPECT_TRUE(list[0].pulled);
  EXPECT_EQ(list[0].repo, "tiny/pipe");
  EXPECT_GT(list[0].bytes, 300000);

  // Again: up to date, no file fetched.
  hub.clear_requests();
  const auto again = sc::app::pull_model(req, nullptr, nullptr);
  EXPECT_TRUE(again.up_to_date);
  EXPECT_EQ(count_requests(hub, "/resolve/"), 0u);
}

TEST(ModelPull, FilesDownloadInParallel) {
  HubTestServer hub;
  HubTestServer::Repo r;
  r.name = "o/many";
  r.commit = kCommit;
  r.files.push_back({"config.json", "{}"});
  for (int i = 0; i < 4; ++i) {
    HubTestServer::File f{"w" + std::to_string(i) + ".safetensors", blob(64 * 1024, unsigned(i)), true};
    f.chunk_delay_ms = 40;  // 8 chunks: each file takes about 0.3 s
    r.files.push_back(f);
  }
  hub.set_repo(r);
  TempDir t;
  auto req = request_for(hub, "o/many", t.path);
  req.hub.jobs = 4;
  sc::app::pull_model(req, nullptr, nullptr);
  EXPECT_GE(hub.peak_transfers(), 2);
}

TEST(ModelPull, AnInterruptedTransferResumesWhereItStopped) {
  HubTestServer hub;
  auto repo = tiny_repo();
  for (auto& f : repo.files)
    if (f.path == "unet/diffusion_pytorch_model.fp16.safetensors") {
      f.drop_after = 60000;
      f.drop_times = 1;
    }
  hub.set_repo(repo);
  TempDir t;
  auto req = request_for(hub, "tiny/pipe", t.path);

  // No retries: the pull fails, keeps what came, and nothing is at the model's path.
  const std::string e = error_of([&] { sc::app::pull_model(req, nullptr, nullptr); });
  EXPECT_NE(e.find("unet/diffusion_pytorch_model.fp16.safetensors: the connection closed after 60000 of 150000"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(t.path / "tiny--pipe"));
  const fs::path part = t.path / ".tiny--pipe.partial" / "unet/diffusion_pytorch_model.fp16.safetensors.part";
  ASSERT_TRUE(fs::exists(part));
  EXPECT_EQ(fs::file_size(part), 60000u);
  const auto list = sc::app::list_models(t.path);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].complete);
  EXPECT_EQ(list[0].name, "tiny--pipe");
  EXPECT_GT(list[0].expected_bytes, list[0].bytes);

  // The same request again: only the rest is asked for.
  hub.clear_requests();
  const auto r = sc::app::pull_model(req, nullptr, nullptr);
  std::string range;
  EXPECT_EQ(count_requests(hub, "/cdn/tiny/pipe/unet/diffusion_pytorch_model.fp16.safetensors", &range), 1u);
  EXPECT_EQ(range, "bytes=60000-");
  EXPECT_EQ(count_requests(hub, "/text_encoder/model.fp16.safetensors"), 0u);  // finished before: kept
  EXPECT_EQ(read_file(r.path / "unet/diffusion_pytorch_model.fp16.safetensors"), blob(150000, 2));
  EXPECT_FALSE(fs::exists(t.path / ".tiny--pipe.partial"));
}

TEST(ModelPull, ADroppedConnectionIsRetriedWithinOnePull) {
  HubTestServer hub;
  auto repo = tiny_repo();
  for (auto& f : repo.files)
    if (f.path == "vae/diffusion_pytorch_model.fp16.safetensors") {
      f.drop_after = 10000;
      f.drop_times = 2;
    }
  hub.set_repo(repo);
  TempDir t;
  auto req = request_for(hub, "tiny/pipe", t.path);
  req.hub.retries = 2;
  const auto r = sc::app::pull_model(req, nullptr, nullptr);
  EXPECT_EQ(read_file(r.path / "vae/diffusion_pytorch_model.fp16.safetensors"), blob(90000, 5));
  EXPECT_EQ(count_requests(hub, "/cdn/tiny/pipe/vae/"), 3u);
}

TEST(ModelPull, AServerThatIgnoresTheRangeStillGivesTheRightFile) {
  HubTestServer hub;
  auto repo = tiny_repo();
  for (auto& f : repo.files)
    if (f.path == "unet/diffusion_pytorch_model.fp16.safetensors") {
      f.drop_after = 50000;
      f.drop_times = 1;
      f.ignore_range = true;
    }
  hub.set_repo(repo);
  TempDir t;
  auto req = request_for(hub, "tiny/pipe", t.path);
  req.hub.retries = 1;
  const auto r = sc::app::pull_model(req, nullptr, nullptr);
  EXPECT_EQ(read_file(r.path / "unet/diffusion_pytorch_model.fp16.safetensors"), blob(150000, 2));
}

TEST(ModelPull, AWrongChecksumIsRefusedAndTheFileIsNotKept) {
  HubTestServer hub;
  auto repo = tiny_repo();
  for (auto& f : repo.files)
    if (f.path == "text_encoder/model.fp16.safetensors" || f.path == "tokenizer/vocab.json") f.corrupt = true;
  hub.set_repo(repo);
  TempDir t;
  const std::string e = error_of([&] { sc::app::pull_model(request_for(hub, "tiny/pipe", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("SHA-256"), std::string::npos) << e;      // the LFS file is checked by its SHA-256...
  EXPECT_NE(e.find("git blob id"), std::string::npos) << e;  // ...the small one by its blob id
  EXPECT_FALSE(fs::exists(t.path / "tiny--pipe"));
  const fs::path staging = t.path / ".tiny--pipe.partial";
  EXPECT_FALSE(fs::exists(staging / "text_encoder/model.fp16.safetensors"));
  EXPECT_FALSE(fs::exists(staging / "text_encoder/model.fp16.safetensors.part"));
  EXPECT_FALSE(fs::exists(staging / "tokenizer/vocab.json"));
  EXPECT_TRUE(fs::exists(staging / "unet/config.json"));  // the good files are kept for the next try
}

TEST(ModelPull, TheHubsErrorAnswersSayWhatToDo) {
  HubTestServer hub;
  auto priv = tiny_repo("me/private");
  priv.token = "hf_right";
  hub.set_repo(priv);
  auto gated = tiny_repo("big/gated");
  gated.gated = true;
  hub.set_repo(gated);
  auto missing_file = tiny_repo("o/gone");
  for (auto& f : missing_file.files)
    if (f.path == "unet/config.json") f.status = 404;
  hub.set_repo(missing_file);
  TempDir t;

  std::string e = error_of([&] { sc::app::pull_model(request_for(hub, "no/such", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("no repository 'no/such'"), std::string::npos) << e;
  EXPECT_NE(e.find("HF_TOKEN"), std::string::npos) << e;

  e = error_of([&] { sc::app::pull_model(request_for(hub, "me/private", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("no repository 'me/private'"), std::string::npos) << e;
  auto wrong = request_for(hub, "me/private", t.path);
  wrong.hub.token = "hf_wrong";
  e = error_of([&] { sc::app::pull_model(wrong, nullptr, nullptr); });
  EXPECT_NE(e.find("refused HF_TOKEN"), std::string::npos) << e;
  auto right = request_for(hub, "me/private", t.path);
  right.hub.token = "hf_right";
  EXPECT_EQ(sc::app::pull_model(right, nullptr, nullptr).name, "me--private");

  e = error_of([&] { sc::app::pull_model(request_for(hub, "big/gated", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("big/gated is gated: accept its terms at " + hub.endpoint() + "/big/gated"), std::string::npos) << e;

  auto rev = request_for(hub, "me/private", t.path);
  rev.hub.token = "hf_right";
  rev.revision = "v9";
  e = error_of([&] { sc::app::pull_model(rev, nullptr, nullptr); });
  EXPECT_NE(e.find("has no revision 'v9'"), std::string::npos) << e;

  e = error_of([&] { sc::app::pull_model(request_for(hub, "o/gone", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("'unet/config.json' is listed"), std::string::npos) << e;
  EXPECT_NE(e.find("404"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(t.path / "o--gone"));
}

TEST(ModelPull, AStalledServerTimesOutWithAClearMessage) {
  HubTestServer hub;
  auto repo = tiny_repo();
  for (auto& f : repo.files)
    if (f.path == "vae/diffusion_pytorch_model.fp16.safetensors") f.stall_after = 20000;
  hub.set_repo(repo);
  TempDir t;
  auto req = request_for(hub, "tiny/pipe", t.path);
  req.hub.stall_timeout_s = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { sc::app::pull_model(req, nullptr, nullptr); });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
  EXPECT_NE(e.find("vae/diffusion_pytorch_model.fp16.safetensors: the server stopped sending"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(t.path / "tiny--pipe"));
  // What came before the stall is kept for the next try.
  EXPECT_EQ(fs::file_size(t.path / ".tiny--pipe.partial/vae/diffusion_pytorch_model.fp16.safetensors.part"), 20000u);
}

TEST(ModelPull, AFullDiskStopsThePullAndSaysSo) {
  HubTestServer hub;
  hub.set_repo(tiny_repo());
  TempDir t;
  // The disk fills while the UNet is written: its part file is /dev/full.
  const fs::path staging = t.path / ".tiny--pipe.partial";
  fs::create_directories(staging / "unet");
  std::ofstream(staging / ".streamcanvas-pull.json")
      << nlohmann::json({{"repo", "tiny/pipe"}, {"commit", kCommit}, {"files", nlohmann::json::array()}}).dump();
  fs::create_symlink("/dev/full", staging / "unet/diffusion_pytorch_model.fp16.safetensors.part");
  const std::string e = error_of([&] { sc::app::pull_model(request_for(hub, "tiny/pipe", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("No space left on device"), std::string::npos) << e;
  EXPECT_NE(e.find("free some space"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(t.path / "tiny--pipe"));

  // A file list bigger than the disk is refused before anything is fetched.
  auto huge = tiny_repo("o/huge");
  for (auto& f : huge.files)
    if (f.path == "unet/diffusion_pytorch_model.fp16.safetensors") f.listed_size = std::int64_t(1) << 52;
  hub.set_repo(huge);
  hub.clear_requests();
  const std::string e2 = error_of([&] { sc::app::pull_model(request_for(hub, "o/huge", t.path), nullptr, nullptr); });
  EXPECT_NE(e2.find("GiB free"), std::string::npos) << e2;
  EXPECT_EQ(count_requests(hub, "/resolve/"), 0u);
}

TEST(ModelPull, NoNetworkAndUnknownNamesAreExplained) {
  TempDir t;
  sc::app::PullRequest req;
  req.what = "tiny/pipe";
  req.models_dir = t.path.string();
  {
    HubTestServer closed;  // a port that was open a moment ago and is not now
    req.hub.endpoint = closed.endpoint();
  }
  std::string e = error_of([&] { sc::app::pull_model(req, nullptr, nullptr); });
  EXPECT_NE(e.find("could not reach " + req.hub.endpoint), std::string::npos) << e;
  EXPECT_NE(e.find("HF_ENDPOINT"), std::string::npos) << e;

  req.what = "sd-turbbo";
  e = error_of([&] { sc::app::pull_model(req, nullptr, nullptr); });
  EXPECT_NE(e.find("unknown model 'sd-turbbo'"), std::string::npos) << e;
  EXPECT_NE(e.find("sd-turbo, sd-1.5, taesd"), std::string::npos) << e;
  EXPECT_TRUE(fs::is_empty(t.path));
}

TEST(ModelPull, AFolderNotMadeByPullIsNeverOverwritten) {
  HubTestServer hub;
  hub.set_repo(tiny_repo());
  TempDir t;
  fs::create_directories(t.path / "tiny--pipe/unet");
  std::ofstream(t.path / "tiny--pipe/unet/config.json") << "{}";  // e.g. another tool's half download
  const std::string e = error_of([&] { sc::app::pull_model(request_for(hub, "tiny/pipe", t.path), nullptr, nullptr); });
  EXPECT_NE(e.find("already exists and was not made by `models pull`"), std::string::npos) << e;
  EXPECT_EQ(read_file(t.path / "tiny--pipe/unet/config.json"), "{}");
  const auto list = sc::app::list_models(t.path);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].pulled);
  EXPECT_NE(error_of([&] { sc::app::remove_model(t.path, "tiny--pipe"); }).find("not made by `models pull`"),
            std::string::npos);
}

TEST(ModelPull, CancellingKeepsWhatCameForTheNextTry) {
  HubTestServer hub;
  auto repo = tiny_repo();
  for (auto& f : repo.files) f.chunk_delay_ms = 20;
  hub.set_repo(repo);
  TempDir t;
  std::atomic<bool> cancel{false};
  const std::string e = error_of([&] {
    sc::app::pull_model(
        request_for(hub, "tiny/pipe", t.path),
        [&](const sc::app::DownloadProgress& p) {
          if (p.done > 20000) cancel = true;
        },
        &cancel);
  });
  EXPECT_NE(e.find("stopped; what was downloaded is kept"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(t.path / "tiny--pipe"));
  EXPECT_TRUE(fs::exists(t.path / ".tiny--pipe.partial"));
  const auto r = sc::app::pull_model(request_for(hub, "tiny/pipe", t.path), nullptr, nullptr);
  for (const auto& f : tiny_repo().files) {
    if (kTinyFp16.count(f.path)) {
      EXPECT_EQ(read_file(r.path / f.path), f.content) << f.path;
    }
  }
}

TEST(ModelPull, ANewCommitReplacesTheModelFetchingOnlyWhatChanged) {
  HubTestServer hub;
  hub.set_repo(tiny_repo());
  TempDir t;
  const auto first = sc::app::pull_model(request_for(hub, "tiny/pipe", t.path), nullptr, nullptr);
  auto v2 = tiny_repo();
  v2.commit = kCommit2;
  for (auto& f : v2.files)
    if (f.path == "unet/config.json") f.content = R"({"sample_size": 16})";
  hub.set_repo(v2);
  hub.clear_requests();
  const auto second = sc::app::pull_model(request_for(hub, "tiny/pipe", t.path), nullptr, nullptr);
  EXPECT_TRUE(second.updated);
  EXPECT_EQ(second.commit, kCommit2);
  EXPECT_EQ(read_file(second.path / "unet/config.json"), R"({"sample_size": 16})");
  EXPECT_EQ(count_requests(hub, "/resolve/"), 1u);  // only the changed file
  EXPECT_EQ(read_file(second.path / "unet/diffusion_pytorch_model.fp16.safetensors"), blob(150000, 2));
  EXPECT_EQ(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()), 1);  // no old copy left
}

TEST(ModelPull, AKnownNameResolvesOnceInstalledAndRemoveDeletesIt) {
  HubTestServer hub;
  auto repo = tiny_repo("stabilityai/sd-turbo");
  hub.set_repo(repo);
  TempDir t;
  std::string e = error_of([&] { sc::app::resolve_model_path("sd-turbo", t.path.string()); });
  EXPECT_NE(e.find("run `streamcanvas-cli models pull sd-turbo`"), std::string::npos) << e;
  const auto r = sc::app::pull_model(request_for(hub, "sd-turbo", t.path), nullptr, nullptr);
  EXPECT_EQ(r.name, "sd-turbo");
  EXPECT_EQ(sc::app::resolve_model_path("sd-turbo", t.path.string()), t.path / "sd-turbo");
  EXPECT_EQ(sc::app::resolve_model_path("stabilityai/sd-turbo", t.path.string()), "stabilityai/sd-turbo");
  EXPECT_EQ(sc::app::list_models(t.path).at(0).mode, "img2img");
  const std::int64_t freed = sc::app::remove_model(t.path, "sd-turbo");
  EXPECT_GT(freed, 300000);
  EXPECT_FALSE(fs::exists(t.path / "sd-turbo"));
  EXPECT_NE(error_of([&] { sc::app::remove_model(t.path, "sd-turbo"); }).find("no model 'sd-turbo'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { sc::app::remove_model(t.path, "../etc"); }).find("not a model name"), std::string::npos);
}

TEST(ModelPull, TheEnvironmentNamesTheHubAndTheToken) {
  ::setenv("HF_ENDPOINT", "http://mirror.example:8080", 1);
  ::setenv("HF_TOKEN", "hf_env", 1);
  const auto o = sc::app::hub_options_from_environment();
  EXPECT_EQ(o.endpoint, "http://mirror.example:8080");
  EXPECT_EQ(o.token, "hf_env");
  ::unsetenv("HF_ENDPOINT");
  ::unsetenv("HF_TOKEN");
  EXPECT_EQ(sc::app::hub_options_from_environment().endpoint, "https://huggingface.co");
  ::setenv("SC_MODELS", "/srv/models", 1);
  EXPECT_EQ(sc::app::models_dir(), fs::path("/srv/models"));
  EXPECT_EQ(sc::app::models_dir("/x"), fs::path("/x"));
  ::unsetenv("SC_MODELS");
  ::setenv("XDG_DATA_HOME", "/home/u/.data", 1);
  EXPECT_EQ(sc::app::models_dir(), fs::path("/home/u/.data/streamcanvas/models"));
  ::unsetenv("XDG_DATA_HOME");
}

#ifdef SC_CLI_PATH
namespace {
struct CliRun {
  int status = -1;
  std::string out;
};
CliRun run(const std::string& cmd) {
  CliRun r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}
}  // namespace

TEST(ModelsCli, PullListAndRemoveThroughTheCommandLine) {
  HubTestServer hub;
  auto taesd = tiny_repo("madebyollin/taesd");
  taesd.files.push_back({"config.json", R"({"latent_channels": 4})"});
  hub.set_repo(taesd);
  TempDir t;
  const std::string env = "HF_ENDPOINT=" + hub.endpoint() + " SC_MODELS=" + t.path.string() + " ";
  CliRun r = run(env + SC_CLI_PATH " models pull taesd --jobs 2");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("pulled taesd (madebyollin/taesd at 0123456789ab): 11 files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("got unet/diffusion_pytorch_model.fp16.safetensors"), std::string::npos) << r.out;
  r = run(env + SC_CLI_PATH " models pull taesd");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("taesd is up to date"), std::string::npos) << r.out;

  r = run(env + SC_CLI_PATH " models list --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["installed"].size(), 1u);
  EXPECT_EQ(j["installed"][0]["name"], "taesd");
  EXPECT_EQ(j["installed"][0]["complete"], true);
  EXPECT_GE(j["available"].size(), 6u);
  r = run(env + SC_CLI_PATH " models list");
  EXPECT_NE(r.out.find("taesd                    img2img"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[installed]"), std::string::npos) << r.out;

  r = run(env + SC_CLI_PATH " models remove taesd");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("removed taesd"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(t.path / "taesd"));

  // A mode's model option takes an installed model's name, and says how to get one that is not.
  r = run(env + SC_CLI_PATH " img2img --model sd-turbo --prompt x -o " + (t.path / "x.mp4").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--model: model 'sd-turbo' is not installed: run `streamcanvas-cli models pull sd-turbo`"),
            std::string::npos)
      << r.out;

  r = run(env + SC_CLI_PATH " models pull nonesuch");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("error: unknown model 'nonesuch'"), std::string::npos) << r.out;
}
#endif
