"""The design document's unit tests for AgentService.process_query_for_case (section 2.1), plus the rest
of its list: success, error handling, context injection, persistence.

Adapted only where the tooling forces it: the tracer is a MagicMock (a plain Mock cannot be used in a
`with` statement) and the fixture is a plain pytest fixture.
"""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock, Mock

import pytest

from faultmaven.models import AgentResponse, QueryRequest, ResponseType
from faultmaven.models.case import CaseMessage, MessageType
from faultmaven.models.interfaces import CaseServiceError, LLMProviderError
from faultmaven.services.agent_service import AgentService


class TestAgentCaseIntegration:
    @pytest.fixture
    async def agent_service_with_case_service(self):
        """Create AgentService with mocked case service"""
        mock_case_service = AsyncMock()
        mock_case_service.get_case.return_value = Mock(case_id="test-case")
        mock_case_service.get_case_conversation_context.return_value = "Previous: User asked about errors"

        agent_service = AgentService(
            llm_provider=AsyncMock(),
            tools=[],
            tracer=MagicMock(),
            sanitizer=Mock(),
            case_service=mock_case_service,
        )
        return agent_service

    async def test_process_query_for_case_with_context(self, agent_service_with_case_service):
        """Test query processing with conversation context"""
        request = QueryRequest(query="What's the root cause?", session_id="test-session")
        mock_response = AgentResponse(
            content="Based on previous context and your question...",
            response_type=ResponseType.ANSWER,
            view_state=Mock(),
            sources=[],
        )
        agent_service_with_case_service.process_query = AsyncMock(return_value=mock_response)

        await agent_service_with_case_service.process_query_for_case("test-case", request)

        called_request = agent_service_with_case_service.process_query.call_args[0][0]
        assert "Previous: User asked about errors" in called_request.query
        assert "What's the root cause?" in called_request.query
        assert agent_service_with_case_service._case_service.add_message_to_case.call_count == 2

    async def test_process_query_for_case_without_case_service(self):
        """Test graceful handling when case service not available"""
        agent_service = AgentService(
            llm_provider=AsyncMock(),
            tools=[],
            tracer=MagicMock(),
            sanitizer=Mock(),
            case_service=None,
        )
        request = QueryRequest(query="Test query", session_id="test-session")
        mock_response = AgentResponse(
            content="Standard response",
            response_type=ResponseType.ANSWER,
            view_state=Mock(),
            sources=[],
        )
        agent_service.process_query = AsyncMock(return_value=mock_response)

        result = await agent_service.process_query_for_case("test-case", request)

        assert result.content == "Standard response"
        assert not hasattr(agent_service, "_case_service") or agent_service._case_service is None

    async def test_process_query_for_case_success(self, agent_service_with_case_service):
        service = agent_service_with_case_service
        service.process_query = AsyncMock(
            return_value=AgentResponse(
                content="Root cause: pool exhausted", response_type=ResponseType.SOLUTION_READY
            )
        )
        result = await service.process_query_for_case("test-case", QueryRequest(query="why?", session_id="s"))
        assert result.content == "Root cause: pool exhausted"
        assert result.case_id == "test-case"
        service._tracer.trace.assert_any_call("process_case_query", case_integration=True)

    async def test_process_query_for_case_error_handling(self, agent_service_with_case_service):
        """An LLM failure gives a structured, clearly degraded answer; the query is still persisted."""
        service = agent_service_with_case_service
        service.process_query = AsyncMock(side_effect=LLMProviderError("down", {"primary": "HTTP 503"}))
        result = await service.process_query_for_case("test-case", QueryRequest(query="why?", session_id="s"))
        assert result.metadata["degraded"] is True
        assert "primary: HTTP 503" in result.content
        assert result.response_type is ResponseType.ANSWER
        persisted = [call.args[1] for call in service._case_service.add_message_to_case.call_args_list]
        assert [m.message_type for m in persisted] == [MessageType.USER_QUERY, MessageType.AGENT_RESPONSE]
        assert persisted[0].content == "why?"

    async def test_case_service_failure_degrades_to_no_context(self, agent_service_with_case_service):
        service = agent_service_with_case_service
        service._case_service.get_case.side_effect = CaseServiceError("database unreachable")
        service.process_query = AsyncMock(return_value=AgentResponse(content="ok", response_type="ANSWER"))
        result = await service.process_query_for_case("test-case", QueryRequest(query="q", session_id="s"))
        assert result.content == "ok"

    async def test_unknown_case_is_refused(self, agent_service_with_case_service):
        service = agent_service_with_case_service
        service._case_service.get_case.return_value = None
        with pytest.raises(ValueError, match="not found"):
            await service.process_query_for_case("missing", QueryRequest(query="q"))

    async def test_conversation_context_injection(self, agent_service_with_case_service):
        service = agent_service_with_case_service
        service.process_query = AsyncMock(return_value=AgentResponse(content="ok", response_type="ANSWER"))
        await service.process_query_for_case(
            "test-case", QueryRequest(query="next?", session_id="s", context={"team": "sre"})
        )
        service._case_service.get_case_conversation_context.assert_awaited_once_with("test-case", limit=10)
        enhanced = service.process_query.call_args[0][0]
        assert enhanced.query == "Previous: User asked about errors\n\nCurrent query: next?"
        assert enhanced.context["case_conversation_context"] is True
        assert enhanced.context["team"] == "sre"

    async def test_message_persistence(self, agent_service_with_case_service):
        service = agent_service_with_case_service
        service.process_query = AsyncMock(
            return_value=AgentResponse(content="answer", response_type="PLAN_PROPOSAL")
        )
        await service.process_query_for_case("test-case", QueryRequest(query="plan?", session_id="sess-1"))
        user, agent = [call.args[1] for call in service._case_service.add_message_to_case.call_args_list]
        assert isinstance(user, CaseMessage) and isinstance(agent, CaseMessage)
        assert (user.message_type, user.content, user.session_id) == (
            MessageType.USER_QUERY,
            "plan?",
            "sess-1",
        )
        assert (agent.message_type, agent.content) == (MessageType.AGENT_RESPONSE, "answer")
        assert agent.metadata == {
            "source": "case_agent_integration",
            "response_type": "PLAN_PROPOSAL",
            "degraded": False,
        }

    async def test_persistence_failure_does_not_fail_the_request(self, agent_service_with_case_service):
        service = agent_service_with_case_service
        service._case_service.add_message_to_case.side_effect = RuntimeError("disk full")
        service.process_query = AsyncMock(
            return_value=AgentResponse(content="still here", response_type="ANSWER")
        )
        result = await service.process_query_for_case("test-case", QueryRequest(query="q"))
        assert result.content == "still here"
