"""The registry of Reelscope's own span, log and metric attribute names (namespaced `reelscope.*`).

Ids (job id, message id) belong on spans, logs and exemplars only, never on metrics: a metric attribute
with one value per job would create one time series per job and sink Prometheus.
"""

from typing import Final

JOB_ID: Final = "reelscope.job.id"
"""The job a span belongs to; set on every span of a job (see `JobIdSpanProcessor`)."""

STAGE: Final = "reelscope.stage"
"""Pipeline stage (`transcode`, `transcription`, `notification`): low cardinality, allowed on metrics."""

JOB_OUTCOME: Final = "reelscope.job.outcome"
"""`completed`, `failed` or `cancelled`: low cardinality, allowed on metrics."""

STAGE_OUTCOME: Final = "reelscope.stage.outcome"
"""`succeeded`, `failed` or `cancelled`: low cardinality, allowed on metrics."""

FAILURE_REASON: Final = "reelscope.failure.reason"
"""Human-readable failure reason: spans and logs only (free text)."""

FAILURE_CATEGORY: Final = "reelscope.failure.category"
"""One of the fixed `FailureCategory` values: low cardinality, allowed on metrics."""

COST_CURRENCY: Final = "reelscope.cost.currency"
"""Currency of `reelscope.job.cost` (configured once per deployment): allowed on metrics."""

RENDITIONS: Final = "reelscope.renditions"
"""Names of the renditions one ffmpeg run produces (string array)."""

RENDITION: Final = "reelscope.rendition"
"""One rendition name (`360p`): low cardinality, allowed on metrics."""

MEDIA_DURATION: Final = "reelscope.media.duration_s"
"""Duration of the input media in seconds, as ffprobe reports it."""

ASR_ENGINE: Final = "reelscope.asr.engine"
"""Speech recognition engine name: low cardinality."""

ASR_WORDS: Final = "reelscope.asr.word_count"
"""Number of words recognised."""

WEBHOOK_OUTCOME: Final = "reelscope.webhook.outcome"
"""`delivered`, `rejected`, `refused` (a non-public address or a redirect), `error` or `skipped`: low
cardinality, allowed on metrics."""

FLAG_INJECTED: Final = "reelscope.flag.injected"
"""The failure flag (`reelscope flags`) that made this span's work fail or wait on purpose; the evaluation itself
is a `feature_flag.evaluation` span event."""

FLAG_DELAY: Final = "reelscope.flag.delay_s"
"""Seconds waited on purpose because of a failure flag."""

NOTIFICATION_CHANNEL: Final = "reelscope.notification.channel"
"""How a job's owner was told: `webhook`, `slack` or `email`: low cardinality, allowed on metrics."""

NOTIFICATION_OUTCOME: Final = "reelscope.notification.outcome"
"""One channel's outcome: `delivered`, `rejected` (the receiver said no), `refused` (we would not call it), `error`
(transient) or `skipped` (already delivered on an earlier attempt): low cardinality, allowed on metrics."""

ASR_LANGUAGE: Final = "reelscope.asr.language"
"""Language of a transcript (declared for pocketsphinx, detected by faster-whisper)."""

ASR_CHUNKS: Final = "reelscope.asr.chunks"
"""Number of audio chunks the recogniser was given for one job."""

TRANSCRIPTION_SKIPPED: Final = "reelscope.transcription.skipped"
"""True when a job got no transcript on purpose (no audio track); the reason is in `...skipped_reason`."""

TRANSCRIPTION_SKIPPED_REASON: Final = "reelscope.transcription.skipped_reason"
"""Why transcription was skipped (free text: spans and logs only)."""

MEDIA_FORMAT: Final = "reelscope.media.format"
"""Demuxer ffprobe chose for the input (`mov`, `matroska`, ...): spans only."""

MEDIA_SIZE: Final = "reelscope.media.size_bytes"
"""Size of the input file in bytes."""

MEDIA_WIDTH: Final = "reelscope.media.width"
"""Display width of the input video (rotation and pixel aspect applied)."""

MEDIA_HEIGHT: Final = "reelscope.media.height"
"""Display height of the input video (rotation and pixel aspect applied)."""

MEDIA_ROTATION: Final = "reelscope.media.rotation"
"""Rotation the input's display matrix asks for, in degrees (0, 90, 180, 270)."""

MEDIA_VIDEO_CODEC: Final = "reelscope.media.video_codec"
"""Codec of the input's video stream (`h264`, `hevc`, ...)."""

MEDIA_PIXEL_FORMAT: Final = "reelscope.media.pixel_format"
"""Pixel format of the input's video stream (`yuv420p10le` for 10-bit)."""

MEDIA_AUDIO_CODEC: Final = "reelscope.media.audio_codec"
"""Codec of the input's first audio stream."""

MEDIA_HAS_VIDEO: Final = "reelscope.media.has_video"
"""Whether the input has a video stream (a cover picture does not count)."""

MEDIA_HAS_AUDIO: Final = "reelscope.media.has_audio"
"""Whether the input has an audio stream."""

RENDITIONS_SKIPPED: Final = "reelscope.renditions.skipped"
"""Ladder rungs not produced for a job (string array; the reasons are in the job's result and logs)."""

HLS: Final = "reelscope.hls"
"""Whether a job's renditions were also packaged as HLS."""

TOOL_TIMEOUT: Final = "reelscope.tool.timeout_s"
"""Wall-clock limit a media tool ran under for one job."""

TOOL_PEAK_RSS: Final = "reelscope.tool.peak_rss_bytes"
"""Peak resident memory of a media tool process (Linux `VmHWM`), sampled while it ran."""

QUEUE: Final = "reelscope.queue"
"""The work queue a message came from (a fixed set of names): allowed on metrics."""

ATTEMPT: Final = "reelscope.attempt"
"""Which delivery attempt of a message a span handles (1 = first): spans only."""

CHART_VERSION: Final = "reelscope.chart.version"
"""Resource attribute: the Helm chart version that deployed the service (set by the chart through
`OTEL_RESOURCE_ATTRIBUTES`, never by code; Kubernetes identity comes as the semantic-convention `k8s.*` keys)."""

REQUEST_ID: Final = "reelscope.request.id"
"""The HTTP request's id (its sane incoming `X-Request-ID`, or one the service made): server spans only; log lines
carry it as `request_id`."""

API_KEY_ID: Final = "reelscope.api_key.id"
"""The visible id of the API key behind a request (`rsk_<id>` without the prefix; never the key): spans and logs
only, one value per key."""

TENANT: Final = "reelscope.tenant"
"""The tenant of that key: spans and logs only (tenants are many and user-named, so never a metric label)."""
