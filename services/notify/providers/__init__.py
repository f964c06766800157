"""SMS providers behind one interface (:class:`base.SmsProvider`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import InboundSms, OutgoingSms, ProviderHealth, RateLimiter, SmsProvider

if TYPE_CHECKING:
    from ..config import NotifySettings


def build_provider(settings: "NotifySettings") -> SmsProvider:
    """The provider the settings name: 'file' (default, embedded), 'smpp' or 'aliyun'."""
    kind = settings.notify_sms_provider
    if kind == "smpp":
        from .smpp import SmppConfig, SmppProvider

        return SmppProvider(SmppConfig(
            host=settings.notify_smpp_host, port=settings.notify_smpp_port, system_id=settings.notify_smpp_system_id,
            password=settings.notify_smpp_password.get_secret_value(), system_type=settings.notify_smpp_system_type,
            source_addr=settings.notify_smpp_source_addr, source_addr_ton=settings.notify_smpp_source_ton,
            source_addr_npi=settings.notify_smpp_source_npi, dest_addr_ton=settings.notify_smpp_dest_ton,
            dest_addr_npi=settings.notify_smpp_dest_npi, reference_bits=settings.notify_sms_reference_bits,
            max_parts=settings.notify_sms_max_parts, enquire_link_interval=settings.notify_smpp_enquire_link_seconds,
            response_timeout=settings.notify_smpp_response_timeout,
        ))
    if kind == "aliyun":
        from .aliyun import AliyunSmsProvider

        return AliyunSmsProvider(
            access_key_id=settings.notify_aliyun_access_key_id,
            access_key_secret=settings.notify_aliyun_access_key_secret.get_secret_value(),
            sign_name=settings.notify_aliyun_sign_name or settings.notify_center_name,
            template_codes=settings.notify_aliyun_template_codes, endpoint=settings.notify_aliyun_endpoint,
        )
    from .file import FileProvider

    return FileProvider(settings.outbox_file)


__all__ = ["InboundSms", "OutgoingSms", "ProviderHealth", "RateLimiter", "SmsProvider", "build_provider"]
