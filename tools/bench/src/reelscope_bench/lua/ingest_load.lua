-- wrk script for the ingest API overhead benchmark (api_overhead.py). Every request carries the bench's API
-- key; with REELSCOPE_BENCH_CLIP set, each one is a POST /v1/jobs uploading that clip (multipart/form-data).
-- Both come from the environment, so the key never appears on a command line.
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("REELSCOPE_BENCH_API_KEY"), "REELSCOPE_BENCH_API_KEY")

local clip_path = os.getenv("REELSCOPE_BENCH_CLIP")
if clip_path then
  local clip = assert(io.open(clip_path, "rb"))
  local media = clip:read("*a")
  clip:close()
  local boundary = "reelscope-bench-7d3f9a"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
  wrk.body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
    .. "Content-Type: video/mp4\r\n\r\n"
    .. media .. "\r\n"
    .. "--" .. boundary .. "--\r\n"
end
