"""Small timer models shared by the engine tests (an intermediate wait, a boundary deadline)."""

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
WAIT_THEN_TASK = f"""<bpmn:definitions {NS} id="d1" targetNamespace="t">
  <bpmn:process id="wait_then_task" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"{{duration}}"</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="after_wait"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after_wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after_wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
DEADLINE = f"""<bpmn:definitions {NS} id="d2" targetNamespace="t">
  <bpmn:process id="task_with_deadline" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="slow_task"/>
    <bpmn:boundaryEvent id="deadline" attachedToRef="slow_task"><bpmn:timerEventDefinition>
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P2D"</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:userTask id="escalated"/>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="end2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="slow_task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="slow_task" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="deadline" targetRef="escalated"/>
    <bpmn:sequenceFlow id="f4" sourceRef="escalated" targetRef="end2"/>
  </bpmn:process>
</bpmn:definitions>"""


def wait_then_task(duration: str = "PT1H") -> bytes:
    return WAIT_THEN_TASK.replace("{duration}", duration).encode()
