// A test plugin: its pre_approval handler throws, so AssemblyScript calls
// abort, which the SDK's handler (--use abort=...) logs before trapping.
import { Request, Decision, approve, handlePreApproval } from "../../../../../sdk/assemblyscript/assembly/index";
export * from "../../../../../sdk/assemblyscript/assembly/exports";

handlePreApproval((req: Request): Decision => {
  if (req.requestComment == "throw") throw new Error("boom for " + req.targetUser.email);
  return approve("fine");
});
